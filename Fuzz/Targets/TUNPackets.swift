@testable import WireGuardLinux

/// The TUN side with offloads, as `readWithHeaders` and `writeWithHeaders` see it: a
/// virtio header and a packet (a super-packet cut into segments, or a partial checksum
/// completed), and a batch of packets coalesced for the write.
func fuzzTUNPackets(_ data: UnsafeRawBufferPointer) {
    var input = FuzzInput(data)
    let room = 1500 + Int(input.byte()) * 16
    let header = input.take(VirtioNetHeader.size)
    guard header.count == VirtioNetHeader.size else { return }
    let virtio = header.withUnsafeBytes { VirtioNetHeader(loadingFrom: $0.baseAddress!) }
    let split = input.uint16()
    var packet = input.rest()
    guard !packet.isEmpty else { return }
    if virtio.gsoType == VirtioNetHeader.gsoNone {
        if virtio.needsChecksum, packet.count <= room {
            packet.withUnsafeMutableBytes { _ = TCPSegmentation.completeChecksum($0.baseAddress!, length: $0.count, header: virtio) }
        }
    } else if let layout = packet.withUnsafeBytes({ TCPSegmentation.layout(of: $0.baseAddress!, length: $0.count, header: virtio) }),
              layout.segmentLength <= room {
        require(layout.segmentCount >= 1, "a layout without segments")
        let out = UnsafeMutableRawPointer.allocate(byteCount: room, alignment: 16)
        defer { out.deallocate() }
        var payload = 0
        packet.withUnsafeBytes { p in
            for i in 0..<layout.segmentCount {
                let n = TCPSegmentation.writeSegment(i, of: p.baseAddress!, layout: layout, into: out)
                require(n <= layout.segmentLength && n > layout.headerLength, "segment \(i) is \(n) bytes")
                payload += n - layout.headerLength
            }
        }
        require(payload == layout.length - layout.headerLength, "segments carry \(payload) of \(layout.length - layout.headerLength) bytes")
    }
    // The write side: the same bytes as a batch of packets (cut at `split`), coalesced.
    let pool = FuzzPools.shared
    let batch = PacketBatch(pool: pool, capacity: 64)
    defer { batch.releaseAll() }
    var rest = packet[...]
    let step = max(20, split % 2048)
    while !rest.isEmpty, batch.count < batch.capacity, let buffer = pool.take() {
        let piece = rest.prefix(step)
        rest = rest.dropFirst(piece.count)
        guard piece.withUnsafeBytes({ buffer.assign($0) }) else {
            pool.release(buffer)
            break
        }
        batch.append(buffer)
        // Repeat the piece with the sequence number moved on, so flows can merge.
        if let next = pool.take() {
            var copy = Array(piece)
            bumpSequence(&copy)
            if copy.withUnsafeBytes({ next.assign($0) }), batch.count < batch.capacity { batch.append(next) } else { pool.release(next) }
        }
    }
    let coalescer = TCPCoalescer(capacity: batch.count)
    coalescer.plan(batch)
    var packets = 0
    for k in 0..<coalescer.itemCount { packets += coalescer.items[k].packets }
    require(packets == batch.count, "the plan writes \(packets) of \(batch.count) packets")
}

/// Moves a TCP segment's sequence number on by its payload, if it looks like one.
private func bumpSequence(_ p: inout [UInt8]) {
    guard p.count >= 40 else { return }
    let ipLength = p[0] >> 4 == 6 ? 40 : Int(p[0] & 0x0f) * 4
    guard ipLength + 20 <= p.count else { return }
    let tcpLength = Int(p[ipLength + 12] >> 4) * 4
    let payload = UInt32(truncatingIfNeeded: max(0, p.count - ipLength - tcpLength))
    var sequence = UInt32(p[ipLength + 4]) << 24 | UInt32(p[ipLength + 5]) << 16 | UInt32(p[ipLength + 6]) << 8 | UInt32(p[ipLength + 7])
    sequence &+= payload
    p[ipLength + 4] = UInt8(truncatingIfNeeded: sequence >> 24)
    p[ipLength + 5] = UInt8(truncatingIfNeeded: sequence >> 16)
    p[ipLength + 6] = UInt8(truncatingIfNeeded: sequence >> 8)
    p[ipLength + 7] = UInt8(truncatingIfNeeded: sequence)
}

enum FuzzPools {
    static let shared = PacketBufferPool(slotCount: 256, slotSize: 2048)
}

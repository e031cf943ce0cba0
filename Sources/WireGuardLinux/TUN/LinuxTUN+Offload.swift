import CFerryLinux
import Glibc
import Synchronization

/// Reads and writes of a TUN with virtio headers (IFF_VNET_HDR) and TSO.
///
/// Reading: one readv(2) per packet into [virtio header | the batch buffer's room | an
/// overflow area], so an ordinary packet lands in its buffer without a copy and a TCP
/// super-packet (up to 64 KiB) spills into the overflow. A super-packet is made contiguous
/// there and cut into segments, one per buffer, as many as the batch has room for; the rest
/// waits for the next read call. A packet whose checksum the kernel left partial
/// (NEEDS_CSUM) gets it completed.
///
/// Writing: the batch goes through a `TCPCoalescer`, and each resulting packet, merged or
/// not, is one writev(2) with its virtio header.
extension LinuxTUN {
    func readWithHeaders(into batch: PacketBatch, headroom: Int, room: Int, _ reader: OffloadReader) throws(TUNError) -> Int {
        var n = 0
        while n < batch.count {
            if reader.pendingNext < reader.pendingCount {
                n += reader.cutPending(into: batch, from: n, headroom: headroom)
                continue
            }
            let packet = batch[n]
            let data = packet.record.pointee.data + headroom
            reader.prepareVectors(room: data, count: room)
            let r = readv(descriptor, reader.vectors, 3)
            guard r >= 0 else {
                if try readFailed(errno, after: n) { return n }
                continue
            }
            let length = r - VirtioNetHeader.size
            let header = VirtioNetHeader(loadingFrom: reader.header)
            packet.record.pointee.length = 0  // unless it turns out usable
            n += 1
            guard length > 0 else { continue }
            if header.gsoType == VirtioNetHeader.gsoNone {
                // Longer than the room: the rest went to the overflow; report it empty, as
                // a packet the kernel cut.
                guard length <= room else { continue }
                if header.needsChecksum, !TCPSegmentation.completeChecksum(data, length: length, header: header) { continue }
                packet.record.pointee.length = UInt32(length)
                continue
            }
            // A super-packet: contiguous in the overflow area's front, then cut from there
            // (the first segment into this same buffer).
            guard length < room + OffloadReader.overflowSize else { continue }  // cut by the kernel
            reader.staging.copyMemory(from: data, byteCount: min(length, room))
            guard let layout = TCPSegmentation.layout(of: reader.staging, length: length, header: header),
                  layout.segmentLength <= room else { continue }
            n -= 1
            reader.startCutting(layout)
        }
        return n
    }

    func writeWithHeaders(_ batch: PacketBatch) throws(TUNError) -> WriteOutcome {
        let coalescer = coalescers.withLock { $0.popLast() } ?? TCPCoalescer(capacity: batch.count)
        defer { coalescers.withLock { $0.append(coalescer) } }
        coalescer.plan(batch)
        var outcome = WriteOutcome()
        var k = 0
        while k < coalescer.itemCount {
            let item = coalescer.items[k]
            let r = writev(descriptor, coalescer.iovecs + item.iovecStart, Int32(item.iovecCount))
            if r >= 0 {
                outcome.written += item.packets
                k += 1
                continue
            }
            let e = errno
            if try writeFailed(e) {
                for _ in 0..<item.packets { outcome.recordFailure(e) }
                k += 1
            }
        }
        return outcome
    }
}

/// The TUN reader's buffers: the virtio header, the overflow area (whose front also holds a
/// super-packet made contiguous), the readv vectors, and the super-packet being cut.
final class OffloadReader: @unchecked Sendable {
    /// A TSO super-packet is at most 64 KiB (the TUN's gso_max_size); some slack on top.
    static let overflowSize = 65536 + 512
    /// Front of the overflow area: room for the part of a packet that went to the buffer.
    static let stagingFront = 65536

    let header: UnsafeMutableRawPointer
    let area: UnsafeMutableRawPointer
    let vectors: UnsafeMutablePointer<iovec>
    private(set) var layout = TCPSegmentation.Layout(isIPv6: false, ipLength: 0, headerLength: 0, gsoSize: 1, length: 0)
    private(set) var pendingNext = 0
    private(set) var pendingCount = 0
    /// Where the current super-packet starts (the overflow begins `room` bytes after it).
    private(set) var staging: UnsafeMutableRawPointer

    init() {
        header = .allocate(byteCount: VirtioNetHeader.size, alignment: 8)
        area = .allocate(byteCount: OffloadReader.stagingFront + OffloadReader.overflowSize, alignment: 64)
        vectors = .allocate(capacity: 3)
        staging = area
    }

    deinit {
        header.deallocate()
        area.deallocate()
        vectors.deallocate()
    }

    /// Vectors for a read into a buffer of `count` bytes at `room`: the part of a packet
    /// beyond it goes to the overflow, which follows the staging place without a gap.
    func prepareVectors(room: UnsafeMutableRawPointer, count: Int) {
        staging = area + (OffloadReader.stagingFront - min(count, OffloadReader.stagingFront))
        vectors[0] = iovec(iov_base: header, iov_len: VirtioNetHeader.size)
        vectors[1] = iovec(iov_base: room, iov_len: count)
        vectors[2] = iovec(iov_base: area + OffloadReader.stagingFront, iov_len: OffloadReader.overflowSize)
    }

    func startCutting(_ layout: TCPSegmentation.Layout) {
        self.layout = layout
        pendingNext = 0
        pendingCount = layout.segmentCount
    }

    /// Cuts segments of the pending super-packet into the batch's buffers from `first` on;
    /// returns how many.
    func cutPending(into batch: PacketBatch, from first: Int, headroom: Int) -> Int {
        var n = first
        while n < batch.count, pendingNext < pendingCount {
            let record = batch[n].record
            let length = TCPSegmentation.writeSegment(pendingNext, of: staging, layout: layout, into: record.pointee.data + headroom)
            record.pointee.length = UInt32(length)
            pendingNext += 1
            n += 1
        }
        return n - first
    }
}

import FerryTestSupport
import Glibc
import Testing
@testable import WireGuardLinux

/// The TUN offloads' packet work without a TUN: the checksum against a plain reference,
/// cutting TSO super-packets, and merging segments (checked by cutting the merged packets
/// again the way the kernel would and comparing with what went in).
@Suite struct TUNOffloadTests {
    @Test func checksumMatchesAPlainRFC1071Sum() {
        var rng = SeededGenerator(seed: 1)
        for length in [0, 1, 2, 3, 7, 15, 16, 17, 31, 40, 1419, 1452, 9000] {
            let bytes = (0..<length + 3).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            for offset in 0..<3 {
                let slice = Array(bytes[offset..<offset + length])
                let fast = bytes.withUnsafeBytes { InternetChecksum.fold(InternetChecksum.sum($0.baseAddress! + offset, count: length)) }
                #expect(UInt16(bigEndian: fast) == referenceSum(slice), "length \(length) offset \(offset)")
            }
        }
    }

    @Test func aSuperPacketIsCutIntoValidSegments() {
        for isIPv6 in [false, true] {
            let payload = (0..<5000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
            var flow = Flow(isIPv6: isIPv6, port: 4000)
            var packet = flow.segment(payload: payload, flags: 0x18, options: 12)  // ACK|PSH, timestamps-sized options
            let ipLength = isIPv6 ? 40 : 20
            // As the kernel hands it over: partial checksum, GSO header.
            var header = VirtioNetHeader()
            header.flags = VirtioNetHeader.needsChecksumFlag
            header.gsoType = isIPv6 ? VirtioNetHeader.gsoTCPv6 : VirtioNetHeader.gsoTCPv4
            header.headerLength = UInt16(ipLength + 32)
            header.gsoSize = 1368
            header.checksumStart = UInt16(ipLength)
            header.checksumOffset = 16
            packet[ipLength + 16] = 0xab  // whatever the kernel left there must not matter
            let layout = packet.withUnsafeBytes { TCPSegmentation.layout(of: $0.baseAddress!, length: $0.count, header: header) }
            #expect(layout?.segmentCount == 4)
            #expect(layout?.segmentLength == ipLength + 32 + 1368)
            guard let layout else { continue }
            var out = [UInt8](repeating: 0, count: 2048)
            var received: [UInt8] = []
            for i in 0..<layout.segmentCount {
                let n = packet.withUnsafeBytes { p in
                    out.withUnsafeMutableBytes { TCPSegmentation.writeSegment(i, of: p.baseAddress!, layout: layout, into: $0.baseAddress!) }
                }
                let segment = Array(out[0..<n])
                let parsed = ParsedTCP(segment)
                #expect(parsed.checksumValid, "segment \(i)")
                #expect(parsed.ipv4HeaderValid)
                #expect(parsed.sequence == 1000 &+ UInt32(i * 1368))
                #expect(parsed.flags == (i == 3 ? 0x18 : 0x10))
                if !isIPv6 { #expect(parsed.ipID == 7 &+ UInt16(i)) }
                received += parsed.payload
            }
            #expect(received == payload)
        }
    }

    @Test func aPartialChecksumIsCompleted() {
        var flow = Flow(isIPv6: false, port: 80)
        var packet = flow.segment(payload: Array(repeating: 0x5a, count: 333), flags: 0x18)
        let correct = Array(packet[36..<38])
        // What the kernel leaves: the pseudo-header's sum, not complemented.
        let pseudo = packet.withUnsafeBytes {
            InternetChecksum.fold(InternetChecksum.pseudoHeaderSum(ip: $0.baseAddress!, isIPv6: false, protocol: 6, length: $0.count - 20))
        }
        withUnsafeBytes(of: pseudo) { packet[36] = $0[0]; packet[37] = $0[1] }
        var header = VirtioNetHeader()
        header.flags = VirtioNetHeader.needsChecksumFlag
        header.checksumStart = 20
        header.checksumOffset = 16
        let done = packet.withUnsafeMutableBytes { TCPSegmentation.completeChecksum($0.baseAddress!, length: $0.count, header: header) }
        #expect(done)
        #expect(Array(packet[36..<38]) == correct)
        header.checksumOffset = 400
        #expect(!packet.withUnsafeMutableBytes { TCPSegmentation.completeChecksum($0.baseAddress!, length: $0.count, header: header) })
    }

    @Test func mergedSegmentsCutAgainAreTheSegmentsThatWentIn() {
        var rng = SeededGenerator(seed: 7)
        let pool = PacketBufferPool(slotCount: 256, slotSize: 2048)
        let batch = PacketBatch(pool: pool, capacity: 128)
        let coalescer = TCPCoalescer(capacity: 16)
        var merged = 0
        for round in 0..<150 {
            var flows = (0..<Int(1 + rng.next() % 11)).map { Flow(isIPv6: rng.next() % 3 == 0, port: UInt16(1000 + $0)) }
            var input: [[UInt8]] = []
            let count = Int(1 + rng.next() % 128)
            for _ in 0..<count {
                let f = Int(rng.next() % UInt64(flows.count))
                switch rng.next() % 20 {
                case 0: input.append(flows[f].segment(payload: [], flags: 0x10))  // pure ACK
                case 1: input.append(udp(rng.next()))
                case 2: flows[f].sequence &+= 100  // a gap
                    input.append(flows[f].segment(payload: bytes(&rng, 1368), flags: 0x10))
                case 3: input.append(flows[f].segment(payload: bytes(&rng, Int(1 + rng.next() % 1368)), flags: 0x18))
                case 4: input.append(flows[f].segment(payload: bytes(&rng, 700), flags: 0x10))  // short
                case 5: var bad = flows[f].segment(payload: bytes(&rng, 1368), flags: 0x10)
                    bad[bad.count - 1] ^= 1  // wrong checksum: must not be merged
                    input.append(bad)
                case 6: flows[f].ack &+= 1
                    input.append(flows[f].segment(payload: bytes(&rng, 1368), flags: 0x10))
                default: input.append(flows[f].segment(payload: bytes(&rng, 1368), flags: 0x10))
                }
            }
            batch.releaseAll()
            batch.refill()
            for (i, packet) in input.enumerated() { packet.withUnsafeBytes { _ = batch[i].assign($0, headroom: 16) } }
            for j in input.count..<batch.count { pool.release(batch.detach(at: j)) }
            batch.compact()
            coalescer.plan(batch)
            var output: [[UInt8]] = []
            var packets = 0
            for k in 0..<coalescer.itemCount {
                let item = coalescer.items[k]
                packets += item.packets
                let (header, bytes) = gather(coalescer.iovecs + item.iovecStart, item.iovecCount)
                if header.gsoType == VirtioNetHeader.gsoNone {
                    #expect(item.packets == 1)
                    output.append(bytes)
                    continue
                }
                merged += 1
                #expect(header.needsChecksum)
                #expect(bytes.count <= 65535)
                let layout = bytes.withUnsafeBytes { TCPSegmentation.layout(of: $0.baseAddress!, length: $0.count, header: header) }
                #expect(layout?.segmentCount == item.packets)
                guard let layout else { continue }
                for i in 0..<layout.segmentCount {
                    var out = [UInt8](repeating: 0, count: 2048)
                    let n = bytes.withUnsafeBytes { p in
                        out.withUnsafeMutableBytes { TCPSegmentation.writeSegment(i, of: p.baseAddress!, layout: layout, into: $0.baseAddress!) }
                    }
                    output.append(Array(out[0..<n]))
                }
            }
            #expect(packets == input.count, "round \(round)")
            // Every flow's packets in their order; other packets all there.
            #expect(byFlow(output) == byFlow(input), "round \(round)")
        }
        #expect(merged > 50)
    }

    // MARK: helpers

    /// A payload: a random byte, repeated (the sequence numbers tell segments apart anyway).
    func bytes(_ rng: inout SeededGenerator, _ n: Int) -> [UInt8] { [UInt8](repeating: UInt8(truncatingIfNeeded: rng.next()), count: n) }

    func udp(_ seed: UInt64) -> [UInt8] {
        var p = [UInt8](repeating: 0, count: 48)
        p[0] = 0x45
        p[3] = 48
        p[9] = 17
        p[8] = 64
        p[12] = 10; p[15] = 1; p[16] = 10; p[19] = UInt8(truncatingIfNeeded: seed)
        return p
    }

    func gather(_ vectors: UnsafePointer<iovec>, _ count: Int) -> (VirtioNetHeader, [UInt8]) {
        let header = VirtioNetHeader(loadingFrom: UnsafeRawPointer(vectors[0].iov_base!))
        var bytes: [UInt8] = []
        for i in 1..<count {
            bytes += UnsafeRawBufferPointer(start: vectors[i].iov_base, count: vectors[i].iov_len)
        }
        return (header, bytes)
    }

    /// Packets grouped by TCP flow (source port) in order; everything else as one group.
    func byFlow(_ packets: [[UInt8]]) -> [Int: [[UInt8]]] {
        var groups: [Int: [[UInt8]]] = [:]
        for p in packets {
            let ipLength = p[0] >> 4 == 6 ? 40 : 20
            let isTCP = p[0] >> 4 == 6 ? p[6] == 6 : p[9] == 6
            let key = isTCP ? Int(p[ipLength]) << 8 | Int(p[ipLength + 1]) : -1
            groups[key, default: []].append(p)
        }
        return groups
    }
}

/// One direction of a TCP connection making segments with valid checksums.
struct Flow {
    var isIPv6: Bool
    var port: UInt16
    var sequence: UInt32 = 1000
    var ack: UInt32 = 5000
    var id: UInt16 = 7

    init(isIPv6: Bool, port: UInt16) {
        self.isIPv6 = isIPv6
        self.port = port
    }

    mutating func segment(payload: [UInt8], flags: UInt8, options: Int = 0) -> [UInt8] {
        let ipLength = isIPv6 ? 40 : 20
        let tcpLength = 20 + options
        var p = [UInt8](repeating: 0, count: ipLength + tcpLength + payload.count)
        if isIPv6 {
            p[0] = 0x60
            put16(&p, 4, UInt16(tcpLength + payload.count))
            p[6] = 6
            p[7] = 64
            p[8] = 0xfd; p[23] = 1; p[24] = 0xfd; p[39] = 2
        } else {
            p[0] = 0x45
            put16(&p, 2, UInt16(p.count))
            put16(&p, 4, id)
            p[6] = 0x40  // DF
            p[8] = 64
            p[9] = 6
            p[12] = 10; p[15] = 1; p[16] = 10; p[19] = 2
            put16(&p, 10, ~referenceSum(Array(p[0..<20])))
        }
        let t = ipLength
        put16(&p, t, port)
        put16(&p, t + 2, 80)
        put32(&p, t + 4, sequence)
        put32(&p, t + 8, ack)
        p[t + 12] = UInt8(tcpLength / 4) << 4
        p[t + 13] = flags
        put16(&p, t + 14, 500)
        for i in 0..<options { p[t + 20 + i] = i == 0 ? 1 : 0 }
        for (i, b) in payload.enumerated() { p[t + tcpLength + i] = b }
        put16(&p, t + 16, ~tcpSum(p, ipLength: ipLength))
        sequence &+= UInt32(payload.count)
        id &+= 1
        return p
    }
}

/// The fields the tests look at, parsed with plain array code.
struct ParsedTCP {
    let bytes: [UInt8]
    let ipLength: Int
    init(_ bytes: [UInt8]) {
        self.bytes = bytes
        ipLength = bytes[0] >> 4 == 6 ? 40 : 20
    }
    var tcpLength: Int { Int(bytes[ipLength + 12] >> 4) * 4 }
    var sequence: UInt32 { (0..<4).reduce(0) { $0 << 8 | UInt32(bytes[ipLength + 4 + $1]) } }
    var flags: UInt8 { bytes[ipLength + 13] }
    var ipID: UInt16 { UInt16(bytes[4]) << 8 | UInt16(bytes[5]) }
    var payload: [UInt8] { Array(bytes[(ipLength + tcpLength)...]) }
    var checksumValid: Bool { tcpSum(bytes, ipLength: ipLength) == 0xffff }
    var ipv4HeaderValid: Bool {
        ipLength == 40 || (referenceSum(Array(bytes[0..<20])) == 0xffff && Int(bytes[2]) << 8 | Int(bytes[3]) == bytes.count)
    }
}

/// RFC 1071 the plain way: big-endian 16-bit words, odd byte padded, end-around carry.
func referenceSum(_ bytes: [UInt8], initial: UInt32 = 0) -> UInt16 {
    var sum = initial
    var i = 0
    while i + 1 < bytes.count {
        sum += UInt32(bytes[i]) << 8 | UInt32(bytes[i + 1])
        i += 2
    }
    if i < bytes.count { sum += UInt32(bytes[i]) << 8 }
    while sum > 0xffff { sum = (sum >> 16) + (sum & 0xffff) }
    return UInt16(sum)
}

/// The TCP checksum sum (pseudo-header included) of the packet as it is.
func tcpSum(_ p: [UInt8], ipLength: Int) -> UInt16 {
    let length = p.count - ipLength
    var pseudo: [UInt8] = ipLength == 40 ? Array(p[8..<40]) : Array(p[12..<20])
    pseudo += [0, 6, UInt8(length >> 8), UInt8(length & 0xff)]
    return referenceSum(Array(p[ipLength...]), initial: UInt32(referenceSum(pseudo)))
}

func put16(_ p: inout [UInt8], _ at: Int, _ v: UInt16) {
    p[at] = UInt8(v >> 8)
    p[at + 1] = UInt8(v & 0xff)
}

func put32(_ p: inout [UInt8], _ at: Int, _ v: UInt32) {
    put16(&p, at, UInt16(v >> 16))
    put16(&p, at + 2, UInt16(v & 0xffff))
}


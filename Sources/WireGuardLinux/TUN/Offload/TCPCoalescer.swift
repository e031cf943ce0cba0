import Glibc

/// Merges the TCP segments of one flow in a batch going to the TUN into super-packets
/// (the kernel's GRO, done before the write), so the kernel's TCP receive path runs once
/// per super-packet instead of once per segment. A TUN with IFF_VNET_HDR takes a merged
/// packet with a virtio header that says how to cut it again (GSO TCPv4/TCPv6, gso_size)
/// and that its checksum is partial (NEEDS_CSUM, the pseudo-header's sum in the field).
///
/// The rules are the kernel's tcp_gro_receive (and wireguard-go's): only in-sequence
/// segments with payload and the flags ACK or ACK|PSH, the same addresses, ports,
/// acknowledgement number, IP header fields and TCP options; nothing after a PSH or after
/// a short segment; at most 64 segments and 64 KiB. Every segment's checksum is verified
/// first, because the merged one is marked as needing none. Nothing is copied: a merged
/// packet is written with writev(2) as the first segment followed by the others' payloads.
///
/// Packets keep their order within a flow; packets of other flows and other protocols may
/// pass a flow's pending segments. One coalescer serves one write at a time.
final class TCPCoalescer: @unchecked Sendable {
    static let maxRuns = 8
    static let maxSegments = 64
    static let maxLength = 65535

    /// One write(v) to do: `iovecCount` iovecs from `iovecStart`, carrying `packets` packets.
    struct Item {
        var iovecStart: Int
        var iovecCount: Int
        var packets: Int
    }

    /// A flow's pending segments: the first one's place in the batch and the others'.
    private struct Run {
        var head: Int
        var isIPv6: Bool
        var ipLength: Int
        var tcpLength: Int
        var gsoSize: Int
        var lastPayload: Int
        var nextSequence: UInt32
        var totalLength: Int
        var members: Int
        var pushed: Bool
        /// The first segment's checksum was verified (when the second one joined).
        var verified: Bool
    }

    private(set) var items: UnsafeMutablePointer<Item>
    private(set) var itemCount = 0
    private(set) var iovecs: UnsafeMutablePointer<iovec>
    private var iovecCount = 0
    /// Virtio headers of merged packets, one per item; index 0 stays zero for single packets.
    private var headers: UnsafeMutableRawPointer
    private var headerCount = 1
    private var capacity = 0
    private var runs: [Run] = []
    /// Batch indices of each run's segments after the first: maxRuns × (maxSegments - 1).
    private let members: UnsafeMutablePointer<Int32>

    init(capacity: Int = 128) {
        items = .allocate(capacity: 1)
        iovecs = .allocate(capacity: 1)
        headers = .allocate(byteCount: 1, alignment: 8)
        members = .allocate(capacity: TCPCoalescer.maxRuns * (TCPCoalescer.maxSegments - 1))
        runs.reserveCapacity(TCPCoalescer.maxRuns)
        grow(to: capacity)
    }

    deinit {
        items.deallocate()
        iovecs.deallocate()
        headers.deallocate()
        members.deallocate()
    }

    /// Room for a batch of `count` packets: an item, a header and two iovecs per packet at most.
    private func grow(to count: Int) {
        guard count > capacity else { return }
        items.deallocate()
        iovecs.deallocate()
        headers.deallocate()
        capacity = count
        items = .allocate(capacity: count)
        iovecs = .allocate(capacity: 2 * count)
        headers = .allocate(byteCount: (count + 1) * VirtioNetHeader.size, alignment: 8)
        headers.initializeMemory(as: UInt8.self, repeating: 0, count: (count + 1) * VirtioNetHeader.size)
    }

    /// Plans the writes for `batch`: afterwards `items[0..<itemCount]` say what to write,
    /// in order. The merged packets' first segments are changed in place (lengths, IPv4
    /// header checksum, PSH, the partial TCP checksum).
    func plan(_ batch: PacketBatch) {
        grow(to: batch.count)
        itemCount = 0
        iovecCount = 0
        headerCount = 1
        runs.removeAll(keepingCapacity: true)
        for i in 0..<batch.count {
            let packet = batch[i].bytes
            guard let base = packet.baseAddress, let tcp = TCPView(base, count: packet.count) else {
                emitSingle(batch, i)
                continue
            }
            if let r = runs.firstIndex(where: { tcp.sameFlow(as: batch[$0.head].bytes.baseAddress!, isIPv6: $0.isIPv6) }) {
                if tcp.isCandidate, append(tcp, at: i, to: r, batch) { continue }
                flush(r, batch)
            }
            guard tcp.isCandidate else {
                emitSingle(batch, i)
                continue
            }
            if runs.count == TCPCoalescer.maxRuns { flush(0, batch) }
            runs.append(Run(head: i, isIPv6: tcp.isIPv6, ipLength: tcp.ipLength, tcpLength: tcp.tcpLength,
                            gsoSize: tcp.payload, lastPayload: tcp.payload, nextSequence: tcp.sequence &+ UInt32(tcp.payload),
                            totalLength: tcp.count, members: 0, pushed: tcp.pushed, verified: false))
        }
        while !runs.isEmpty { flush(0, batch) }
    }

    private func append(_ tcp: TCPView, at index: Int, to r: Int, _ batch: PacketBatch) -> Bool {
        let run = runs[r]
        guard tcp.sequence == run.nextSequence, !run.pushed, run.lastPayload == run.gsoSize, tcp.payload <= run.gsoSize,
              run.totalLength + tcp.payload <= TCPCoalescer.maxLength, run.members + 1 < TCPCoalescer.maxSegments,
              tcp.ipLength == run.ipLength, tcp.tcpLength == run.tcpLength,
              tcp.sameHeaders(as: batch[run.head].bytes.baseAddress!) else { return false }
        // Checksums are verified only for segments that are merged (a merged packet's is
        // not checked again by the kernel); a single one goes to the kernel as it is.
        if !run.verified {
            let head = batch[run.head].bytes
            guard let first = TCPView(head.baseAddress!, count: head.count), first.checksumIsValid else { return false }
            runs[r].verified = true
        }
        guard tcp.checksumIsValid else { return false }
        members[r * (TCPCoalescer.maxSegments - 1) + run.members] = Int32(index)
        runs[r].members += 1
        runs[r].totalLength += tcp.payload
        runs[r].nextSequence &+= UInt32(tcp.payload)
        runs[r].lastPayload = tcp.payload
        runs[r].pushed = tcp.pushed
        return true
    }

    private func emitSingle(_ batch: PacketBatch, _ index: Int) {
        let packet = batch[index].bytes
        iovecs[iovecCount] = iovec(iov_base: headers, iov_len: VirtioNetHeader.size)
        iovecs[iovecCount + 1] = iovec(iov_base: packet.baseAddress, iov_len: packet.count)
        items[itemCount] = Item(iovecStart: iovecCount, iovecCount: 2, packets: 1)
        iovecCount += 2
        itemCount += 1
    }

    /// Emits run `r` (merged when it has more than one segment) and removes it.
    private func flush(_ r: Int, _ batch: PacketBatch) {
        let run = runs.remove(at: r)
        // The runs after r move down one place; so must their member lists, once this
        // run's list has been read.
        defer {
            for later in r..<runs.count {
                let from = members + (later + 1) * (TCPCoalescer.maxSegments - 1)
                (members + later * (TCPCoalescer.maxSegments - 1)).update(from: from, count: runs[later].members)
            }
        }
        guard run.members > 0 else {
            emitSingle(batch, run.head)
            return
        }
        let head = batch[run.head].bytes
        let ip = head.baseAddress!
        TCPSegmentation.storeTotalLength(run.totalLength, into: ip, isIPv6: run.isIPv6)
        if !run.isIPv6 { InternetChecksum.updateIPv4Header(ip, length: run.ipLength) }
        let tcp = ip + run.ipLength
        if run.pushed {
            tcp.storeBytes(of: tcp.load(fromByteOffset: 13, as: UInt8.self) | TCPSegmentation.tcpPSH, toByteOffset: 13, as: UInt8.self)
        }
        let pseudo = InternetChecksum.pseudoHeaderSum(ip: ip, isIPv6: run.isIPv6, protocol: 6,
                                                      length: run.totalLength - run.ipLength)
        tcp.storeBytes(of: InternetChecksum.fold(pseudo), toByteOffset: 16, as: UInt16.self)
        var header = VirtioNetHeader()
        header.flags = VirtioNetHeader.needsChecksumFlag
        header.gsoType = run.isIPv6 ? VirtioNetHeader.gsoTCPv6 : VirtioNetHeader.gsoTCPv4
        header.headerLength = UInt16(run.ipLength + run.tcpLength)
        header.gsoSize = UInt16(run.gsoSize)
        header.checksumStart = UInt16(run.ipLength)
        header.checksumOffset = 16
        let stored = headers + headerCount * VirtioNetHeader.size
        header.store(to: stored)
        headerCount += 1
        let start = iovecCount
        iovecs[iovecCount] = iovec(iov_base: stored, iov_len: VirtioNetHeader.size)
        iovecs[iovecCount + 1] = iovec(iov_base: head.baseAddress, iov_len: head.count)
        iovecCount += 2
        let headerBytes = run.ipLength + run.tcpLength
        let list = members + r * (TCPCoalescer.maxSegments - 1)
        for k in 0..<run.members {
            let member = batch[Int(list[k])].bytes
            iovecs[iovecCount] = iovec(iov_base: member.baseAddress! + headerBytes, iov_len: member.count - headerBytes)
            iovecCount += 1
        }
        items[itemCount] = Item(iovecStart: start, iovecCount: iovecCount - start, packets: run.members + 1)
        itemCount += 1
    }
}

/// The parts of a TCP packet that coalescing looks at, read after checking the lengths.
/// nil for anything that is not TCP over IPv4 (without fragmentation) or IPv6 (TCP as the
/// first next header) with consistent lengths.
struct TCPView {
    let base: UnsafeMutableRawPointer
    let count: Int
    let isIPv6: Bool
    let ipLength: Int
    let tcpLength: Int
    let payload: Int
    let sequence: UInt32
    let flags: UInt8
    /// Data that may be merged: ACK or ACK|PSH, payload, IPv4 without options.
    let isCandidate: Bool

    static let ack: UInt8 = 0x10

    init?(_ base: UnsafeMutableRawPointer, count: Int) {
        guard count >= 40 else { return nil }
        let first = base.load(as: UInt8.self)
        switch first >> 4 {
        case 4:
            let ihl = Int(first & 0x0f) * 4
            let fragment = UInt16(bigEndian: base.loadUnaligned(fromByteOffset: 6, as: UInt16.self))
            guard ihl >= 20, base.load(fromByteOffset: 9, as: UInt8.self) == 6, fragment & 0x3fff == 0,
                  Int(UInt16(bigEndian: base.loadUnaligned(fromByteOffset: 2, as: UInt16.self))) == count,
                  ihl + 20 <= count else { return nil }
            isIPv6 = false
            ipLength = ihl
        case 6:
            guard count >= 60, base.load(fromByteOffset: 6, as: UInt8.self) == 6,
                  Int(UInt16(bigEndian: base.loadUnaligned(fromByteOffset: 4, as: UInt16.self))) == count - 40 else { return nil }
            isIPv6 = true
            ipLength = 40
        default:
            return nil
        }
        let tcp = Int(base.load(fromByteOffset: ipLength + 12, as: UInt8.self) >> 4) * 4
        guard tcp >= 20, ipLength + tcp <= count else { return nil }
        self.base = base
        self.count = count
        tcpLength = tcp
        payload = count - ipLength - tcp
        sequence = UInt32(bigEndian: base.loadUnaligned(fromByteOffset: ipLength + 4, as: UInt32.self))
        flags = base.load(fromByteOffset: ipLength + 13, as: UInt8.self)
        isCandidate = payload > 0 && (flags == TCPView.ack || flags == TCPView.ack | TCPSegmentation.tcpPSH)
            && (isIPv6 || ipLength == 20)
    }

    /// Whether the TCP checksum is right.
    var checksumIsValid: Bool {
        let sum = InternetChecksum.pseudoHeaderSum(ip: base, isIPv6: isIPv6, protocol: 6, length: count - ipLength)
        return InternetChecksum.fold(InternetChecksum.sum(base + ipLength, count: count - ipLength, initial: sum)) == 0xffff
    }

    var pushed: Bool { flags & TCPSegmentation.tcpPSH != 0 }

    /// Same addresses and ports as the TCP packet at `other` (already known to be TCP of
    /// the family `isIPv6` with this header length).
    func sameFlow(as other: UnsafeRawPointer, isIPv6 otherIsIPv6: Bool) -> Bool {
        guard isIPv6 == otherIsIPv6 else { return false }
        let otherIPLength = isIPv6 ? 40 : Int(other.load(as: UInt8.self) & 0x0f) * 4
        let (at, length) = isIPv6 ? (8, 32) : (12, 8)
        return memcmp(base + at, other + at, length) == 0 && memcmp(base + ipLength, other + otherIPLength, 4) == 0
    }

    /// The IP fields the kernel's GRO requires equal (IPv4: TOS, DF, TTL; IPv6: version,
    /// traffic class, flow label, hop limit), the acknowledgement number and the TCP options,
    /// against a packet of the same flow with the same header lengths.
    func sameHeaders(as other: UnsafeRawPointer) -> Bool {
        if isIPv6 {
            guard memcmp(base, other, 4) == 0, base.load(fromByteOffset: 7, as: UInt8.self) == other.load(fromByteOffset: 7, as: UInt8.self)
            else { return false }
        } else {
            guard base.load(fromByteOffset: 1, as: UInt8.self) == other.load(fromByteOffset: 1, as: UInt8.self),
                  base.load(fromByteOffset: 6, as: UInt8.self) >> 5 == other.load(fromByteOffset: 6, as: UInt8.self) >> 5,
                  base.load(fromByteOffset: 8, as: UInt8.self) == other.load(fromByteOffset: 8, as: UInt8.self) else { return false }
        }
        let tcp = ipLength
        return memcmp(base + tcp + 8, other + tcp + 8, 4) == 0
            && (tcpLength == 20 || memcmp(base + tcp + 20, other + tcp + 20, tcpLength - 20) == 0)
    }
}

/// Cutting the TCP super-packets a TUN with TSO hands over (up to 64 KiB, one virtio
/// header) into the MTU-sized segments the kernel would have sent without the offload:
/// headers copied, IPv4 length, ID and header checksum, IPv6 payload length, TCP sequence
/// number, flags and checksum fixed per segment (as the kernel's tcp_gso_segment does).
/// Also completes the transport checksum of a single packet the kernel left partial.
///
/// Everything is checked against the lengths before it is read: the packets come from the
/// local kernel, but nothing here may trap on a malformed one; it is dropped instead.
enum TCPSegmentation {
    /// Where the parts of a super-packet are.
    struct Layout: Equatable {
        var isIPv6: Bool
        /// IP header length, extension headers included (the virtio header's checksumStart).
        var ipLength: Int
        /// IP + TCP header length: every segment starts with a copy of these bytes.
        var headerLength: Int
        /// Payload bytes per segment; the last one may be shorter.
        var gsoSize: Int
        /// Whole super-packet length.
        var length: Int

        var segmentCount: Int { (length - headerLength + gsoSize - 1) / gsoSize }
        /// The largest segment's length.
        var segmentLength: Int { headerLength + min(gsoSize, length - headerLength) }
    }

    static let tcpFIN: UInt8 = 0x01
    static let tcpPSH: UInt8 = 0x08

    /// The layout of a TCP GSO super-packet of `length` bytes at `packet`, or nil when it is
    /// not one this code can cut (a UDP or ECN GSO type, inconsistent headers, no payload).
    /// The header length comes from the TCP header itself, not from the virtio header (the
    /// kernel's hdr_len may cover more than the headers).
    static func layout(of packet: UnsafeRawPointer, length: Int, header: VirtioNetHeader) -> Layout? {
        let isIPv6: Bool
        switch header.gsoType {
        case VirtioNetHeader.gsoTCPv4: isIPv6 = false
        case VirtioNetHeader.gsoTCPv6: isIPv6 = true
        default: return nil
        }
        guard length >= 40, header.gsoSize > 0, header.checksumOffset == 16 else { return nil }
        let version = packet.load(as: UInt8.self) >> 4
        let ipLength: Int
        if isIPv6 {
            ipLength = Int(header.checksumStart)
            guard version == 6, ipLength >= 40 else { return nil }
        } else {
            ipLength = Int(packet.load(as: UInt8.self) & 0x0f) * 4
            guard version == 4, ipLength >= 20, ipLength == Int(header.checksumStart),
                  packet.load(fromByteOffset: 9, as: UInt8.self) == 6 else { return nil }
        }
        guard ipLength + 20 <= length else { return nil }
        let tcpLength = Int(packet.load(fromByteOffset: ipLength + 12, as: UInt8.self) >> 4) * 4
        let headerLength = ipLength + tcpLength
        guard tcpLength >= 20, headerLength < length else { return nil }
        return Layout(isIPv6: isIPv6, ipLength: ipLength, headerLength: headerLength, gsoSize: Int(header.gsoSize),
                      length: length)
    }

    /// Sets the IP header's length field for a packet of `total` bytes: IPv4's total length,
    /// or IPv6's payload length (after the fixed 40-byte header). IPv4's checksum is the
    /// caller's to update, after any other field it changes.
    @inline(__always)
    static func storeTotalLength(_ total: Int, into ip: UnsafeMutableRawPointer, isIPv6: Bool) {
        if isIPv6 {
            ip.storeBytes(of: UInt16(truncatingIfNeeded: total - 40).bigEndian, toByteOffset: 4, as: UInt16.self)
        } else {
            ip.storeBytes(of: UInt16(truncatingIfNeeded: total).bigEndian, toByteOffset: 2, as: UInt16.self)
        }
    }

    /// Writes segment `index` (in `0..<layout.segmentCount`) of the super-packet into `out`,
    /// which has room for `layout.segmentLength` bytes, and returns its length.
    static func writeSegment(_ index: Int, of packet: UnsafeRawPointer, layout: Layout,
                             into out: UnsafeMutableRawPointer) -> Int {
        let start = layout.headerLength + index * layout.gsoSize
        let payload = min(layout.gsoSize, layout.length - start)
        let total = layout.headerLength + payload
        out.copyMemory(from: packet, byteCount: layout.headerLength)
        (out + layout.headerLength).copyMemory(from: packet + start, byteCount: payload)
        storeTotalLength(total, into: out, isIPv6: layout.isIPv6)
        if !layout.isIPv6 {
            let id = UInt16(bigEndian: packet.loadUnaligned(fromByteOffset: 4, as: UInt16.self)) &+ UInt16(truncatingIfNeeded: index)
            out.storeBytes(of: id.bigEndian, toByteOffset: 4, as: UInt16.self)
            InternetChecksum.updateIPv4Header(out, length: layout.ipLength)
        }
        let tcp = out + layout.ipLength
        let firstSequence = UInt32(bigEndian: packet.loadUnaligned(fromByteOffset: layout.ipLength + 4, as: UInt32.self))
        let sequence = firstSequence &+ UInt32(truncatingIfNeeded: index * layout.gsoSize)
        tcp.storeBytes(of: sequence.bigEndian, toByteOffset: 4, as: UInt32.self)
        if start + payload < layout.length {
            // FIN and PSH belong to the last segment only.
            let flags = tcp.load(fromByteOffset: 13, as: UInt8.self)
            tcp.storeBytes(of: flags & ~(tcpFIN | tcpPSH), toByteOffset: 13, as: UInt8.self)
        }
        let tcpBytes = total - layout.ipLength
        tcp.storeBytes(of: 0, toByteOffset: 16, as: UInt16.self)
        let sum = InternetChecksum.pseudoHeaderSum(ip: out, isIPv6: layout.isIPv6, protocol: 6, length: tcpBytes)
        InternetChecksum.store(InternetChecksum.sum(tcp, count: tcpBytes, initial: sum), at: tcp + 16)
        return total
    }

    /// Completes the checksum of a packet the kernel handed over with NEEDS_CSUM and no GSO:
    /// the field at `checksumStart + checksumOffset` holds the pseudo-header's sum, and the
    /// checksum covers everything from `checksumStart` on (skb_checksum_help). False, and
    /// nothing changed, when the offsets do not fit the packet.
    static func completeChecksum(_ packet: UnsafeMutableRawPointer, length: Int, header: VirtioNetHeader) -> Bool {
        let start = Int(header.checksumStart), at = start + Int(header.checksumOffset)
        guard start < length, at + 2 <= length else { return false }
        let sum = InternetChecksum.sum(packet + start, count: length - start)
        InternetChecksum.store(sum, at: packet + at)
        return true
    }
}

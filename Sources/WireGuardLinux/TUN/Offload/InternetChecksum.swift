/// The Internet checksum (RFC 1071) over raw memory, for the TUN offloads: TCP segments cut
/// from a super-packet need their checksums, and TCP segments are checked before they are
/// merged into one.
///
/// Sums are kept in the host's byte order, as memory is read: the one's complement sum is
/// independent of byte order as long as every part is read the same way, so a field is
/// loaded and stored natively, and numbers that belong to the sum as big-endian words (the
/// pseudo-header's protocol and length) are added as `.bigEndian`.
enum InternetChecksum {
    /// The sum of `count` bytes at `p` added to `initial`, not folded. At most a few
    /// hundred kilobytes per call (32-bit words into a 64-bit accumulator cannot overflow).
    @inline(__always)
    static func sum(_ p: UnsafeRawPointer, count: Int, initial: UInt64 = 0) -> UInt64 {
        var a = initial, b: UInt64 = 0, c: UInt64 = 0, d: UInt64 = 0
        var i = 0
        while i + 16 <= count {
            a &+= UInt64(p.loadUnaligned(fromByteOffset: i, as: UInt32.self))
            b &+= UInt64(p.loadUnaligned(fromByteOffset: i + 4, as: UInt32.self))
            c &+= UInt64(p.loadUnaligned(fromByteOffset: i + 8, as: UInt32.self))
            d &+= UInt64(p.loadUnaligned(fromByteOffset: i + 12, as: UInt32.self))
            i += 16
        }
        while i + 4 <= count {
            a &+= UInt64(p.loadUnaligned(fromByteOffset: i, as: UInt32.self))
            i += 4
        }
        if i + 2 <= count {
            b &+= UInt64(p.loadUnaligned(fromByteOffset: i, as: UInt16.self))
            i += 2
        }
        if i < count {
            // An odd last byte is the high half of a big-endian word padded with zero.
            c &+= UInt64((UInt16(p.load(fromByteOffset: i, as: UInt8.self)) << 8).bigEndian)
        }
        return a &+ b &+ c &+ d
    }

    /// Folds a sum to 16 bits (end-around carry), in the host's byte order.
    @inline(__always)
    static func fold(_ sum: UInt64) -> UInt16 {
        var s = (sum >> 32) &+ (sum & 0xffff_ffff)
        s = (s >> 32) &+ (s & 0xffff_ffff)
        s = (s >> 16) &+ (s & 0xffff)
        s = (s >> 16) &+ (s & 0xffff)
        s = (s >> 16) &+ (s & 0xffff)
        return UInt16(truncatingIfNeeded: s)
    }

    /// The TCP/UDP pseudo-header's sum (RFC 793, RFC 8200 §8.1): the addresses as they are
    /// in the IP header at `ip` (IPv4: 12..<20, IPv6: 8..<40), the protocol and the length
    /// of the transport header and payload.
    @inline(__always)
    static func pseudoHeaderSum(ip: UnsafeRawPointer, isIPv6: Bool, protocol proto: UInt8, length: Int) -> UInt64 {
        let addresses = isIPv6 ? sum(ip + 8, count: 32) : sum(ip + 12, count: 8)
        return addresses &+ UInt64(UInt16(proto).bigEndian) &+ UInt64(UInt16(truncatingIfNeeded: length).bigEndian)
            &+ UInt64(UInt16(truncatingIfNeeded: length >> 16).bigEndian)
    }

    /// Stores the checksum for `sum` (its complement; 0 becomes 0xffff as the kernel's
    /// checksum offload does, which keeps UDP's "no checksum" value out) at `p`.
    @inline(__always)
    static func store(_ sum: UInt64, at p: UnsafeMutableRawPointer) {
        let value = ~fold(sum)
        p.storeBytes(of: value == 0 ? 0xffff : value, as: UInt16.self)
    }

    /// Recomputes an IPv4 header's checksum (bytes 10..<12) over `length` header bytes.
    @inline(__always)
    static func updateIPv4Header(_ ip: UnsafeMutableRawPointer, length: Int) {
        ip.storeBytes(of: 0, toByteOffset: 10, as: UInt16.self)
        ip.storeBytes(of: ~fold(sum(ip, count: length)), toByteOffset: 10, as: UInt16.self)
    }
}

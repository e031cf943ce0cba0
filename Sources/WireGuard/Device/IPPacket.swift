/// The few facts about an inner IP packet the device needs: version, addresses, length.
enum IPPacket {
    /// The ports of a UDP packet (IPv4 without fragment offset, or IPv6 with UDP as the first
    /// next header); nil for anything else.
    @inlinable static func udpPorts(_ p: UnsafeRawBufferPointer) -> (source: UInt16, destination: UInt16)? {
        guard p.count >= 1 else { return nil }
        let header: Int
        switch p[0] >> 4 {
        case 4:
            guard p.count >= 20, p[9] == 17, (Int(p[6]) & 0x1f) << 8 | Int(p[7]) == 0 else { return nil }
            header = Int(p[0] & 0x0f) * 4
            guard header >= 20 else { return nil }
        case 6:
            guard p.count >= 40, p[6] == 17 else { return nil }
            header = 40
        default:
            return nil
        }
        guard p.count >= header + 4 else { return nil }
        return (UInt16(p[header]) << 8 | UInt16(p[header + 1]), UInt16(p[header + 2]) << 8 | UInt16(p[header + 3]))
    }

    /// The destination address bytes (4 or 16) of a packet from the TUN side.
    @inlinable static func destination(_ p: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer? {
        guard p.count >= 1 else { return nil }
        switch p[0] >> 4 {
        case 4 where p.count >= 20: return p.slice(16, 4)
        case 6 where p.count >= 40: return p.slice(24, 16)
        default: return nil
        }
    }

    /// The source address bytes and the length the header claims, for a decrypted packet;
    /// nil unless the header is well formed and the claimed length fits the plaintext
    /// (whose tail may be padding).
    @inlinable static func sourceAndLength(_ p: UnsafeRawBufferPointer) -> (source: UnsafeRawBufferPointer, length: Int)? {
        guard p.count >= 1 else { return nil }
        switch p[0] >> 4 {
        case 4:
            guard p.count >= 20 else { return nil }
            let total = Int(p[2]) << 8 | Int(p[3])
            guard total >= 20, total <= p.count else { return nil }
            return (p.slice(12, 4), total)
        case 6:
            guard p.count >= 40 else { return nil }
            let total = 40 + (Int(p[4]) << 8 | Int(p[5]))
            guard total <= p.count else { return nil }
            return (p.slice(8, 16), total)
        default:
            return nil
        }
    }
}

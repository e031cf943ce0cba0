/// The few facts about an inner IP packet the device needs: version, addresses, length.
enum IPPacket {
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

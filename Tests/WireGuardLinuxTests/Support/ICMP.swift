/// Just enough IPv4/IPv6 and ICMP to answer a ping that arrives through a TUN.
enum ICMP {
    /// The echo reply to an echo request addressed to `target` (4 or 16 address bytes), or
    /// nil when `packet` is something else.
    static func reply(to packet: [UInt8], target: [UInt8]) -> [UInt8]? {
        guard let version = packet.first.map({ $0 >> 4 }) else { return nil }
        if version == 4, packet.count >= 28 {
            let h = Int(packet[0] & 0x0f) * 4
            guard packet[9] == 1, Array(packet[16..<20]) == target, packet.count >= h + 8, packet[h] == 8 else { return nil }
            var reply = packet
            reply.replaceSubrange(12..<16, with: packet[16..<20])
            reply.replaceSubrange(16..<20, with: packet[12..<16])
            reply[h] = 0  // echo reply
            store(0, in: &reply, at: 10)
            store(checksum(reply[0..<h]), in: &reply, at: 10)
            store(0, in: &reply, at: h + 2)
            store(checksum(reply[h...]), in: &reply, at: h + 2)
            return reply
        }
        if version == 6, packet.count >= 48 {
            guard packet[6] == 58, Array(packet[24..<40]) == target, packet[40] == 128 else { return nil }
            var reply = packet
            reply.replaceSubrange(8..<24, with: packet[24..<40])
            reply.replaceSubrange(24..<40, with: packet[8..<24])
            reply[40] = 129  // echo reply
            store(0, in: &reply, at: 42)
            // RFC 4443 §2.3: the checksum covers a pseudo-header of the addresses, the
            // upper-layer length and the next header (58).
            let length = UInt32(reply.count - 40)
            let pseudo = Array(reply[8..<40]) + [UInt8(length >> 24), UInt8(length >> 16 & 0xff), UInt8(length >> 8 & 0xff), UInt8(length & 0xff), 0, 0, 0, 58]
            store(checksum(pseudo[...] + reply[40...]), in: &reply, at: 42)
            return reply
        }
        return nil
    }

    /// RFC 1071.
    static func checksum(_ data: ArraySlice<UInt8>) -> UInt16 {
        var sum: UInt32 = 0
        var i = data.startIndex
        while i + 1 < data.endIndex {
            sum += UInt32(data[i]) << 8 | UInt32(data[i + 1])
            i += 2
        }
        if i < data.endIndex { sum += UInt32(data[i]) << 8 }
        while sum >> 16 != 0 { sum = (sum & 0xffff) + (sum >> 16) }
        return ~UInt16(sum)
    }

    private static func store(_ value: UInt16, in packet: inout [UInt8], at offset: Int) {
        packet[offset] = UInt8(value >> 8)
        packet[offset + 1] = UInt8(value & 0xff)
    }
}

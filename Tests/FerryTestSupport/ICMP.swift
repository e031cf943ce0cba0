/// Just enough IPv4/IPv6 and ICMP to make, recognise and answer pings that travel through a
/// TUN. Addresses are raw bytes: 4 for IPv4, 16 for IPv6.
public enum ICMP {
    /// An ICMP or ICMPv6 echo message, as `parse` reads it.
    public struct Echo: Equatable, Sendable {
        public var isRequest: Bool
        public var source: [UInt8]
        public var destination: [UInt8]
        public var id: UInt16
        public var sequence: UInt16
        public var payload: [UInt8]

        public init(isRequest: Bool, source: [UInt8], destination: [UInt8], id: UInt16, sequence: UInt16, payload: [UInt8]) {
            self.isRequest = isRequest
            self.source = source
            self.destination = destination
            self.id = id
            self.sequence = sequence
            self.payload = payload
        }
    }

    /// The IP packet carrying `echo` (IPv4 or IPv6 by the address length), checksums set.
    public static func packet(_ echo: Echo) -> [UInt8] {
        let v4 = echo.source.count == 4
        let type: UInt8 = v4 ? (echo.isRequest ? 8 : 0) : (echo.isRequest ? 128 : 129)
        let body: [UInt8] = [type, 0, 0, 0, UInt8(echo.id >> 8), UInt8(echo.id & 0xff),
                             UInt8(echo.sequence >> 8), UInt8(echo.sequence & 0xff)] + echo.payload
        var packet: [UInt8]
        if v4 {
            let total = 20 + body.count
            packet = [0x45, 0, UInt8(total >> 8), UInt8(total & 0xff), 0, 0, 0x40, 0, 64, 1, 0, 0]
                + echo.source + echo.destination + body
        } else {
            packet = [0x60, 0, 0, 0, UInt8(body.count >> 8), UInt8(body.count & 0xff), 58, 64]
                + echo.source + echo.destination + body
        }
        setChecksums(&packet)
        return packet
    }

    /// The echo message in an IPv4 or IPv6 packet, or nil when it is something else.
    public static func parse(_ packet: [UInt8]) -> Echo? {
        guard let version = packet.first.map({ $0 >> 4 }) else { return nil }
        if version == 4, packet.count >= 28, packet[9] == 1 {
            let h = Int(packet[0] & 0x0f) * 4
            guard packet.count >= h + 8, packet[h] == 8 || packet[h] == 0 else { return nil }
            return echo(packet, at: h, isRequest: packet[h] == 8, source: 12..<16, destination: 16..<20)
        }
        if version == 6, packet.count >= 48, packet[6] == 58, packet[40] == 128 || packet[40] == 129 {
            return echo(packet, at: 40, isRequest: packet[40] == 128, source: 8..<24, destination: 24..<40)
        }
        return nil
    }

    private static func echo(_ p: [UInt8], at h: Int, isRequest: Bool, source: Range<Int>, destination: Range<Int>) -> Echo {
        Echo(isRequest: isRequest, source: Array(p[source]), destination: Array(p[destination]),
             id: UInt16(p[h + 4]) << 8 | UInt16(p[h + 5]), sequence: UInt16(p[h + 6]) << 8 | UInt16(p[h + 7]),
             payload: Array(p[(h + 8)...]))
    }

    /// The echo reply to an echo request addressed to `target` (4 or 16 address bytes), or
    /// nil when `packet` is something else. The request's header is kept (its TTL, flow
    /// label, options), with the addresses swapped and the checksums redone.
    public static func reply(to packet: [UInt8], target: [UInt8]) -> [UInt8]? {
        guard let echo = parse(packet), echo.isRequest, echo.destination == target else { return nil }
        var reply = packet
        let v4 = packet[0] >> 4 == 4
        let (source, destination) = v4 ? (12..<16, 16..<20) : (8..<24, 24..<40)
        reply.replaceSubrange(source, with: packet[destination])
        reply.replaceSubrange(destination, with: packet[source])
        let h = v4 ? Int(packet[0] & 0x0f) * 4 : 40
        reply[h] = v4 ? 0 : 129
        if v4 { store(0, in: &reply, at: 10) }
        store(0, in: &reply, at: h + 2)
        setChecksums(&reply)
        return reply
    }

    /// Fills in the IPv4 header checksum and the ICMP (or ICMPv6) checksum.
    private static func setChecksums(_ packet: inout [UInt8]) {
        if packet[0] >> 4 == 4 {
            let h = Int(packet[0] & 0x0f) * 4
            store(checksum(packet[0..<h]), in: &packet, at: 10)
            store(checksum(packet[h...]), in: &packet, at: h + 2)
        } else {
            // RFC 4443 §2.3: the checksum covers a pseudo-header of the addresses, the
            // upper-layer length and the next header (58).
            let length = UInt32(packet.count - 40)
            let pseudo = Array(packet[8..<40]) + [UInt8(length >> 24), UInt8(length >> 16 & 0xff), UInt8(length >> 8 & 0xff), UInt8(length & 0xff), 0, 0, 0, 58]
            store(checksum(pseudo[...] + packet[40...]), in: &packet, at: 42)
        }
    }

    /// RFC 1071.
    public static func checksum(_ data: ArraySlice<UInt8>) -> UInt16 {
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

import FerryTestSupport
import Testing
@testable import WireGuard

/// A tunnel whose peer's endpoint is routed into the tunnel itself: our own datagram (from
/// our listen port to that endpoint) comes back from the TUN side and must be dropped, not
/// sealed again (the kernel module's "Avoiding routing loop"). Anything else from or to that
/// port still goes through.
@Suite struct RoutingLoopTests {
    /// A UDP packet from `source` to `destination` (IPv4, no options).
    private func udp(from source: IPv4Address, port sourcePort: UInt16, to destination: IPv4Address, port: UInt16) -> [UInt8] {
        var p = ipv4Packet(from: source, to: destination, sequence: 0, payloadLength: 40)
        p[20] = UInt8(sourcePort >> 8)
        p[21] = UInt8(sourcePort & 0xff)
        p[22] = UInt8(port >> 8)
        p[23] = UInt8(port & 0xff)
        return p
    }

    @Test func ownDatagramToThePeersEndpointIsDropped() throws {
        let (net, a, b) = VirtualNetwork.pair(seed: 21)
        let id = try #require(a.peerID(b))
        // b's endpoint is inside b's allowed IPs: the route to it leads into the tunnel.
        a.device.addAllowedIP(IPPrefix(.v4(IPv4Address(192, 0, 2, 2)), 32)!, for: id)
        a.device.listenPort = 51820
        let loop = udp(from: a.innerAddress, port: 51820, to: IPv4Address(192, 0, 2, 2), port: 51820)
        #expect(net.send(loop, from: a) == .dropped(.routingLoop))
        // Not ours (another source port), or not to the endpoint's port: sent (staged first,
        // as there is no session yet).
        let other = udp(from: a.innerAddress, port: 40000, to: IPv4Address(192, 0, 2, 2), port: 51820)
        #expect(net.send(other, from: a) == .staged(id))
        let otherPort = udp(from: a.innerAddress, port: 51820, to: IPv4Address(192, 0, 2, 2), port: 53)
        #expect(net.send(otherPort, from: a) == .staged(id))
        // Without a listen port (not bound yet) nothing is taken for ours.
        a.device.listenPort = 0
        #expect(net.send(loop, from: a) == .staged(id))
    }

    @Test func aFragmentIsNotTakenForADatagram() {
        var p = udp(from: IPv4Address(10, 0, 0, 1), port: 51820, to: IPv4Address(192, 0, 2, 2), port: 51820)
        #expect(p.withUnsafeBytes { IPPacket.udpPorts($0) }?.source == 51820)
        p[6] = 0x00
        p[7] = 0x10  // fragment offset 16 × 8: no UDP header here
        #expect(p.withUnsafeBytes { IPPacket.udpPorts($0) } == nil)
        p[9] = 6  // TCP
        p[7] = 0
        #expect(p.withUnsafeBytes { IPPacket.udpPorts($0) } == nil)
        #expect([UInt8](repeating: 0x45, count: 21).withUnsafeBytes { IPPacket.udpPorts($0) } == nil)
    }
}

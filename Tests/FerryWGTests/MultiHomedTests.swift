import FerryTestSupport
import Foundation
import Testing

/// Sticky source addresses on a multi-homed host: ferry-wg's namespace has two addresses on
/// its link, and the wireguard-go peer reaches each in turn. wireguard-go moves its
/// endpoint to the source of every authenticated datagram, so its endpoint shows where our
/// replies came from: it must stay the address the peer chose. When that address goes
/// away, ferry-wg falls back to another and the peer follows.
@Suite(.serialized, .needsRootAndFerryWG)
struct MultiHomedTests {
    @Test func repliesLeaveFromTheAddressThePeerUsed() throws {
        let tunnel = try Tunnel(.ferry, .wireguardGo)
        defer { tunnel.close() }
        let primary = Tunnel.outerA[0], secondary = "192.168.50.11"
        try tunnel.left.exec(["ip", "addr", "add", secondary + "/24", "dev", tunnel.leftLink])
        let a = tunnel.a.publicKey, port = Tunnel.port
        func peerSees() throws -> String { try tunnel.b.peer(a)?.endpoint ?? "none" }

        for address in [secondary, primary, secondary] {
            try tunnel.b.wg(["set", tunnel.b.name, "peer", a.base64, "endpoint", "\(address):\(port)"])
            try tunnel.ping(from: .b, family: 0, count: 3)
            #expect(try peerSees() == "\(address):\(port)", "replies to a peer that used \(address) came from elsewhere")
        }

        // The address the peer uses disappears: ferry-wg's next datagrams leave from the
        // remaining one and the peer follows.
        try tunnel.left.exec(["ip", "addr", "del", secondary + "/24", "dev", tunnel.leftLink])
        try tunnel.ping(from: .a, family: 0, count: 3)
        #expect(try peerSees() == "\(primary):\(port)")
        try tunnel.ping(from: .b, family: 0, count: 2)
    }
}

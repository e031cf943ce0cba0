import FerryTestSupport
import Foundation
import Testing

/// ferry-wg against wireguard-go, each side initiating (only the initiator knows the other's
/// endpoint, so the other learns it from the handshake): ping over IPv4 and IPv6 inside the
/// tunnel, with IPv4 and IPv6 outside.
@Suite(.serialized, .needsRootAndFerryWG)
struct InteropPingTests {
    @Test(arguments: Implementation.allCases, Outer.allCases)
    func pingBothFamiliesBothWays(initiator: Implementation, outer: Outer) throws {
        let tunnel = try Tunnel(initiator, initiator.other, outer: outer, endpointsKnownBy: [.a])
        defer { tunnel.close() }
        for family in 0..<2 {
            try tunnel.ping(from: .a, family: family)
            try tunnel.ping(from: .b, family: family)
        }
        // The responder learnt the initiator's endpoint from the handshake.
        let learnt = try #require(try tunnel.b.peer(tunnel.a.publicKey))
        #expect(learnt.endpoint == Tunnel.endpoint(Tunnel.outerA, outer))
        // Both report the handshake at the wall-clock time it happened.
        let now = Int(Date().timeIntervalSince1970)
        for (side, other) in [(tunnel.a, tunnel.b), (tunnel.b, tunnel.a)] {
            let handshake = try #require(try side.peer(other.publicKey)).latestHandshake
            #expect(abs(now - handshake) < 30, "\(side.implementation) reports the handshake at \(handshake), now is \(now)")
        }
    }
}

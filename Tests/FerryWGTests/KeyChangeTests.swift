import FerryTestSupport
import Foundation
import Testing
import WireGuard

/// A private key change (`wg set IF private-key`), the peer reconfigured with the new
/// public key, then a new handshake and traffic.
@Suite(.serialized, .needsRootAndFerryWG)
struct KeyChangeTests {
    @Test(arguments: Implementation.allCases)
    func newPrivateKeyThenNewHandshake(changer: Implementation) throws {
        let tunnel = try Tunnel(changer, changer.other)
        defer { tunnel.close() }
        try tunnel.ping(from: .a, family: 0, count: 1)
        let oldKey = tunnel.a.publicKey
        try tunnel.a.setPrivateKey(PrivateKey.generate())
        #expect(try tunnel.a.wg(["show", tunnel.a.name, "public-key"]).trimmingCharacters(in: .whitespacesAndNewlines)
                == tunnel.a.publicKey.base64)
        try tunnel.b.removePeer(oldKey)
        try tunnel.b.addPeer(tunnel.a.publicKey, allowedIPs: [Tunnel.innerA[0] + "/32", Tunnel.innerA[1] + "/128"],
                             endpoint: Tunnel.endpoint(Tunnel.outerA, .ipv4))
        // The old sessions are gone on both sides: traffic needs a handshake under the new key.
        let start = Date()
        try tunnel.ping(from: .a, family: 0)
        try tunnel.ping(from: .b, family: 1)
        #expect(Date().timeIntervalSince(start) < 8, "traffic took \(Date().timeIntervalSince(start)) s to resume")
        let newPeer = try #require(try tunnel.b.peer(tunnel.a.publicKey))
        #expect(newPeer.latestHandshake > 0 && newPeer.rx > 0)
    }
}

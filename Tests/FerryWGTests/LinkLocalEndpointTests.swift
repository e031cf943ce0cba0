import FerryTestSupport
import Foundation
import Testing

/// IPv6 link-local endpoints with a scope: `wg set … endpoint [fe80::b%IF]:51820` (wg passes
/// the interface by name), traffic to a wireguard-go peer over link-local addresses only,
/// and `wg show` giving the endpoint back with its interface.
@Suite(.serialized, .needsRootAndFerryWG)
struct LinkLocalEndpointTests {
    @Test func peerReachedOverALinkLocalAddress() throws {
        let tunnel = try Tunnel(.ferry, .wireguardGo, endpointsKnownBy: [])
        defer { tunnel.close() }
        let localA = "fe80::a", localB = "fe80::b"
        try tunnel.left.exec(["ip", "addr", "add", localA + "/64", "dev", tunnel.leftLink, "nodad"])
        try tunnel.right.exec(["ip", "addr", "add", localB + "/64", "dev", tunnel.rightLink, "nodad"])
        let endpoint = "[\(localB)%\(tunnel.leftLink)]:\(Tunnel.port)"
        try tunnel.a.wg(["set", tunnel.a.name, "peer", tunnel.b.publicKey.base64, "endpoint", endpoint])
        #expect(try tunnel.a.wg(["show", tunnel.a.name, "endpoints"]).contains(endpoint))
        // ferry-wg initiates to the link-local address; wireguard-go learns ours (with its
        // own interface as the scope) from the handshake.
        try tunnel.ping(from: .a, family: 0, count: 2)
        // (How wireguard-go writes its side's scope is its business: only the address is ours.)
        let learned = try tunnel.b.peer(tunnel.a.publicKey)?.endpoint ?? "none"
        print("wireguard-go learned ferry-wg's endpoint as \(learned)")
        #expect(learned.hasPrefix("[\(localA)"))
        try tunnel.ping(from: .b, family: 1, count: 2)
        #expect(try tunnel.a.peer(tunnel.b.publicKey)?.endpoint == endpoint)
    }
}

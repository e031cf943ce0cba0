import FerryCore
@testable import FerryServer
import Foundation
import HummingbirdTesting
import Testing

/// Heartbeats, verdicts with hold-down, and the gateway token's least privilege
/// (Store+Failover.swift), over the API with a manual clock.
@Suite("Gateway failover: liveness and gateway tokens")
struct GatewayFailoverStoreTests {
    struct Setup {
        let g1: GatewayView, g2: GatewayView, dev: PeerView
        let token1: String
    }

    /// The test makes the liveness passes itself: ferryd's own (on the manual clock) waits
    /// longer than any test advances it.
    static func harness(_ engine: Engine) async throws -> Harness {
        try await Harness.make(engine: engine) { $0.gatewayLiveness.periodMs = 1_000_000_000_000 }
    }

    func setUp(_ h: Harness, _ c: any TestClientProtocol) async throws -> Setup {
        try await h.seed(c)
        func add(_ name: String, _ priority: Int) async throws -> GatewayView {
            let r = try await c.call(.post, "/v1/gateways", token: h.admin, json: #"""
                {"name":"\#(name)","endpoint":"203.0.113.\#(priority):51820","subnets":["172.20.0.0/24"],"publicKey":"\#(newPublicKey())","priority":\#(priority),"masquerade":true}
                """#)
            #expect(r.status == 201, "\(r.body)")
            return try r.decode(GatewayView.self)
        }
        let g1 = try await add("g1", 10), g2 = try await add("g2", 20)
        let t = try await c.call(.post, "/v1/gateways/\(g1.id)/token", token: h.admin)
        #expect(t.status == 201, "\(t.body)")
        let dev = try await h.peer(c, name: "dev")
        return Setup(g1: g1, g2: g2, dev: dev, token1: try t.decode(TokenCreated.self).secret)
    }

    func carrier(_ h: Harness, _ s: Setup) async throws -> String? {
        let map = try await h.store.networkMap(peerID: s.dev.id, caller: .system("t"))
        return map.peers.first { $0.allowedIPs.contains("172.20.0.0/24") }?.name
    }

    func heartbeat(_ c: any TestClientProtocol, _ id: String, _ token: String, problem: String? = nil) async throws -> Reply {
        try await c.call(.post, "/v1/gateways/\(id)/heartbeat", token: token, json: problem.map { #"{"problem":"\#($0)"}"# } ?? "{}")
    }

    @Test(arguments: Engine.all) func aSilentGatewayGoesDownAndComesBackAfterTheHoldDown(engine: Engine) async throws {
        let h = try await Self.harness(engine)
        try await h.withClient { c in
            let s = try await setUp(h, c)
            let pass = { try await h.store.evaluateGatewayLiveness(downAfterMs: 3_000, holdDownMs: 10_000, notBefore: 0) }
            #expect(try await carrier(h, s) == "g1")
            #expect(try await heartbeat(c, s.g1.id, s.token1).status == 200)
            #expect(try await pass().isEmpty)
            h.clock.advance(by: 3_001)
            #expect(try await pass().map(\.up) == [false])
            #expect(try await carrier(h, s) == "g2", "g1 silent for more than 3 s: its subnet moves")
            // Back, but held down: a heartbeat does not bring it back by itself.
            let back = try await heartbeat(c, s.g1.id, s.token1)
            #expect(try back.decode(GatewayHeartbeatResponse.self) == GatewayHeartbeatResponse(status: "held-down", active: []))
            h.clock.advance(by: 2_000)
            _ = try await heartbeat(c, s.g1.id, s.token1)
            #expect(try await pass().isEmpty)
            // Silent again within the hold-down: the hold-down starts over.
            h.clock.advance(by: 4_000)
            #expect(try await pass().isEmpty)
            _ = try await heartbeat(c, s.g1.id, s.token1)
            for _ in 0..<9 {
                h.clock.advance(by: 1_000)
                _ = try await heartbeat(c, s.g1.id, s.token1)
                #expect(try await pass().isEmpty, "still within the hold-down")
            }
            #expect(try await carrier(h, s) == "g2")
            h.clock.advance(by: 1_000)
            _ = try await heartbeat(c, s.g1.id, s.token1)
            #expect(try await pass().map(\.up) == [true])
            #expect(try await carrier(h, s) == "g1")
            let ok = try await heartbeat(c, s.g1.id, s.token1)
            #expect(try ok.decode(GatewayHeartbeatResponse.self) == GatewayHeartbeatResponse(status: "up", active: ["172.20.0.0/24"]))
            // A heartbeat with a problem is no heartbeat.
            h.clock.advance(by: 1_000)
            _ = try await heartbeat(c, s.g1.id, s.token1, problem: "firewall could not be loaded")
            h.clock.advance(by: 2_500)
            #expect(try await pass().map(\.up) == [false])
            // Each verdict is audited once; g2 (never a heartbeat) is unknown, not down.
            let audit = try await h.store.audit(AuditQuery(peer: s.g1.id))
            #expect(audit.map(\.action).filter { $0 == "gateway.down" || $0 == "gateway.up" }.sorted() == ["gateway.down", "gateway.down", "gateway.up"])
            let views = try await h.store.gateways()
            #expect(views.first { $0.name == "g2" }?.status == "unknown")
            #expect(views.first { $0.name == "g1" }?.status == "down")
            #expect(views.first { $0.name == "g2" }?.active == ["172.20.0.0/24"])
        }
    }

    @Test(arguments: Engine.all) func aRestartedCoordinatorWaitsForHeartbeatsBeforeJudging(engine: Engine) async throws {
        let h = try await Self.harness(engine)
        try await h.withClient { c in
            let s = try await setUp(h, c)
            _ = try await heartbeat(c, s.g1.id, s.token1)
            h.clock.advance(by: 60_000)  // the coordinator was away for a minute
            let started = h.clock.now()
            #expect(try await h.store.evaluateGatewayLiveness(downAfterMs: 3_000, holdDownMs: 10_000, notBefore: started).isEmpty)
            h.clock.advance(by: 3_001)
            #expect(try await h.store.evaluateGatewayLiveness(downAfterMs: 3_000, holdDownMs: 10_000, notBefore: started).map(\.up) == [false])
        }
    }

    @Test(arguments: Engine.all) func aGatewayTokenReadsItsOwnMapAndSendsHeartbeatsOnly(engine: Engine) async throws {
        let h = try await Self.harness(engine)
        try await h.withClient { c in
            let s = try await setUp(h, c)
            let own = try await c.call(.get, "/v1/peers/\(s.g1.id)/netmap?interface=wg7", token: s.token1)
            #expect(own.status == 200)
            let map = try own.decode(NetworkMap.self)
            #expect(map.gateway?.nftables.contains("wg7") == true, "the firewall is rendered for the gateway's interface")
            #expect(map.peers.contains { $0.id == s.dev.id })
            #expect(try await c.call(.get, "/v1/peers/\(s.g2.id)/netmap", token: s.token1).status == 404)
            #expect(try await c.call(.get, "/v1/peers/\(s.dev.id)/netmap", token: s.token1).status == 404)
            #expect(try await heartbeat(c, s.g2.id, s.token1).status == 404)
            for (m, path) in [("GET", "/v1/peers"), ("GET", "/v1/gateways"), ("GET", "/v1/peers/\(s.g1.id)"), ("POST", "/v1/peers/\(s.g1.id)/report"),
                              ("GET", "/v1/tokens"), ("POST", "/v1/gateways/\(s.g1.id)/token")] {
                let r = try await c.call(m == "GET" ? .get : .post, path, token: s.token1, json: m == "POST" ? "{}" : nil)
                #expect(r.status == 403, "\(m) \(path): \(r.status)")
            }
            // Not through the general token API, and bad bodies change nothing.
            let viaTokens = try await c.call(.post, "/v1/tokens", token: h.admin, json: #"{"name":"x","scope":"gateway"}"#)
            #expect(viaTokens.status == 400 && viaTokens.errorField == "scope")
            #expect(try await c.call(.post, "/v1/gateways/\(s.g1.id)/heartbeat", token: s.token1, json: #"{"alive":true}"#).status == 400)
            #expect(try await c.call(.post, "/v1/gateways/\(s.dev.id)/token", token: h.admin).status == 404)
            let bad = try await c.call(.patch, "/v1/gateways/\(s.g1.id)", token: h.admin, json: #"{"priority":-1}"#)
            #expect(bad.status == 400 && bad.errorField == "priority")
            let moved = try await c.call(.patch, "/v1/gateways/\(s.g2.id)", token: h.admin, json: #"{"priority":5}"#)
            #expect(try moved.decode(GatewayView.self).priority == 5)
            #expect(try await carrier(h, s) == "g2", "a priority change moves the subnet")
        }
    }
}

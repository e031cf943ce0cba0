import FerryCore
@testable import FerryServer
import FerryTestSupport
import Foundation
import HTTPTypes
import WireGuard
import HummingbirdTesting
import Testing
import WireGuard

@Suite("Endpoints")
struct EndpointTests {
    @Test(arguments: Engine.all) func systemEndpoints(engine: Engine) async throws {
        let h = try await Harness.make(engine: engine)
        try await h.withClient { client in
            let health = try await client.call(.get, "/health", token: nil)
            #expect(health.status == 200 && health.body.contains("\"ok\""))
            let spec = try await client.call(.get, "/openapi.yaml", token: nil)
            #expect(spec.status == 200 && spec.body.hasPrefix("openapi: 3"))
            _ = try await client.call(.get, "/v1/network", token: h.admin)
            let metrics = try await client.call(.get, "/metrics", token: nil)
            #expect(metrics.body.contains("ferry_peers{"))
            #expect(metrics.body.contains("ferry_http_requests_total{route=\"/v1/network\",method=\"GET\",status=\"200\"} 1"))
            return ()
        }
    }

    /// `--metrics-token`: /metrics for admin and read-only tokens only; the rest stays open.
    @Test(arguments: Engine.all) func metricsBehindAToken(engine: Engine) async throws {
        let h = try await Harness.make(engine: engine) { $0.metricsRequireToken = true }
        try await h.withClient { client in
            #expect(try await client.call(.get, "/metrics", token: nil).status == 401)
            let reader = try await client.call(.post, "/v1/tokens", token: h.admin, json: #"{"name":"scraper","scope":"read-only"}"#)
            #expect(reader.status == 201, "\(reader.body)")
            let secret = try reader.decode(TokenCreated.self).secret
            let scraped = try await client.call(.get, "/metrics", token: secret)
            #expect(scraped.status == 200 && scraped.body.contains("ferry_peers{"))
            #expect(try await client.call(.get, "/metrics", token: h.admin).status == 200)
            #expect(try await client.call(.get, "/health", token: nil).status == 200)
            return ()
        }
    }

    @Test(arguments: Engine.all) func networkSegmentsAndPolicy(engine: Engine) async throws {
        let h = try await Harness.make(engine: engine)
        try await h.withClient { client in
            let n = try await client.call(.get, "/v1/network", token: h.admin).decode(NetworkView.self)
            #expect(n.ipv4 == "10.10.0.0/16" && n.mtu == 1420 && n.keepalive == 25)
            let patched = try await client.call(.patch, "/v1/network", token: h.admin, json: #"{"dns":["10.10.0.1"],"name":"team"}"#)
            #expect(try patched.decode(NetworkView.self).dns == ["10.10.0.1"])
            let seg = try await client.call(.post, "/v1/segments", token: h.admin, json: #"{"name":"build-farm","ipv4":"10.10.8.0/22"}"#)
            #expect(seg.status == 201)
            #expect(try seg.decode(SegmentView.self).ipv6 == "fd00:abcd:1234::800/118")
            let auto = try await client.call(.post, "/v1/segments", token: h.admin, json: #"{"name":"developers"}"#).decode(SegmentView.self)
            #expect(auto.ipv4 == "10.10.1.0/24")
            #expect(try await client.call(.get, "/v1/segments/developers", token: h.admin).decode(SegmentView.self).id == auto.id)
            #expect(try await client.call(.get, "/v1/segments", token: h.admin).decode(ListResponse<SegmentView>.self).items.count == 3)
            let rule = try await client.call(.post, "/v1/policy/rules", token: h.admin, json: #"{"from":"developers","toSegment":"build-farm"}"#)
            #expect(rule.status == 201, "\(rule.body)")
            let ruleID = try rule.decode(PolicyRuleView.self).id
            #expect(try await client.call(.get, "/v1/policy/rules", token: h.admin).decode(ListResponse<PolicyRuleView>.self).items.count == 1)
            let inUse = try await client.call(.delete, "/v1/segments/build-farm", token: h.admin)
            #expect(inUse.status == 409)
            #expect(try await client.call(.delete, "/v1/policy/rules/\(ruleID)", token: h.admin).status == 204)
            #expect(try await client.call(.delete, "/v1/segments/build-farm", token: h.admin).status == 204)
            #expect(try await client.call(.get, "/v1/segments/build-farm", token: h.admin).status == 404)
            return ()
        }
    }

    @Test(arguments: Engine.all) func peersLifecycleConfigNetmapAndReport(engine: Engine) async throws {
        let h = try await Harness.make(engine: engine)
        try await h.withClient { client in
            try await h.seed(client)
            let p = try await h.peer(client, name: "laptop", extra: #","owner":"alice","mesh":true"#)
            #expect(p.ipv4 == "10.10.1.1" && p.ipv6 == "fd00:abcd:1234::101" && p.owner == "alice")
            #expect(try await client.call(.get, "/v1/peers/\(p.id)", token: h.admin).decode(PeerView.self) == p)
            let list = try await client.call(.get, "/v1/peers?segment=developers", token: h.admin).decode(ListResponse<PeerView>.self)
            #expect(list.items.map(\.id) == [p.id])

            let config = try await client.call(.get, "/v1/peers/\(p.id)/config", token: h.admin)
            let parsed = try WGQuickConfig(parsing: config.body)
            #expect(parsed.interface.privateKey == nil)
            #expect(parsed.interface.addresses.map(\.description) == ["10.10.1.1/32", "fd00:abcd:1234::101/128"])
            #expect(parsed.peers.count == 1)
            #expect(parsed.peers[0].endpoint?.description == "gw.example.com:51820")
            #expect(parsed.peers[0].allowedIPs.map(\.description).contains("172.20.0.0/24"))
            #expect(parsed.peers[0].persistentKeepalive == 25)

            let qr = try await client.execute(uri: "/v1/peers/\(p.id)/config?format=qr-png", method: .get, headers: [.authorization: "Bearer \(h.admin)"])
            #expect(qr.status == .ok && qr.headers[.contentType] == "image/png")
            #expect(Array(qr.body.readableBytesView.prefix(8)) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
            let qrText = try await client.call(.get, "/v1/peers/\(p.id)/config?format=qr-text", token: h.admin)
            #expect(qrText.body.contains("▀") || qrText.body.contains("▄"))
            #expect(try await client.call(.get, "/v1/peers/\(p.id)/config?format=gif", token: h.admin).errorField == "format")

            let map = try await client.call(.get, "/v1/peers/\(p.id)/netmap", token: h.admin).decode(NetworkMap.self)
            #expect(map.peers.first?.role == "gateway" && map.interface.mtu == 1420)

            let patched = try await client.call(.patch, "/v1/peers/\(p.id)", token: h.admin, json: #"{"tunnel":"full","mtu":1380}"#)
            #expect(try patched.decode(PeerView.self).tunnel == "full")
            let map2 = try await client.call(.get, "/v1/peers/\(p.id)/netmap", token: h.admin).decode(NetworkMap.self)
            #expect(map2.version != map.version)
            #expect(map2.peers.first?.allowedIPs.contains("0.0.0.0/0") == true)

            let report = try await client.call(.post, "/v1/peers/\(p.id)/report", token: h.admin,
                                               json: #"{"endpoint":"198.51.100.7:41000","rxBytes":10,"txBytes":20,"latestHandshake":1767225600}"#)
            #expect(report.status == 204, "\(report.body)")
            let seen = try await client.call(.get, "/v1/peers/\(p.id)", token: h.admin).decode(PeerView.self)
            #expect(seen.endpoint == "198.51.100.7:41000" && seen.rxBytes == 10)
            // A handshake time past any date (it once overflowed every later view of the peer).
            let future = try await client.call(.post, "/v1/peers/\(p.id)/report", token: h.admin, json: #"{"latestHandshake":9223372036854775}"#)
            #expect(future.status == 400 && future.errorField == "latestHandshake", "\(future.body)")
            #expect(try await client.call(.get, "/v1/peers/\(p.id)", token: h.admin).status == 200)

            let newKey = newPublicKey()
            let rotated = try await client.call(.post, "/v1/peers/\(p.id)/rotate-key", token: h.admin, json: #"{"publicKey":"\#(newKey)"}"#)
            #expect(try rotated.decode(PeerCreated.self).peer.publicKey == newKey)
            let generated = try await client.call(.post, "/v1/peers/\(p.id)/rotate-key", token: h.admin, json: #"{"generateKey":true}"#)
            let g = try generated.decode(PeerCreated.self)
            let gconfig = try #require(g.config)
            let cfg = try WGQuickConfig(parsing: gconfig)
            #expect(cfg.interface.privateKey?.publicKey.base64 == g.peer.publicKey)

            #expect(try await client.call(.delete, "/v1/peers/\(p.id)", token: h.admin).status == 204)
            #expect(try await client.call(.get, "/v1/peers/\(p.id)", token: h.admin).status == 404)
            let audit = try await client.call(.get, "/v1/audit?peer=\(p.id)", token: h.admin).decode(ListResponse<AuditEventView>.self)
            #expect(audit.items.map(\.action) == ["peer.create", "peer.update", "peer.endpoint", "peer.rotate-key", "peer.rotate-key", "peer.delete"])
            #expect(audit.items.last?.before?["name"] == .string("laptop"))
            return ()
        }
    }

    /// generateKey returns the private key once, in the config; it is stored nowhere.
    @Test(arguments: Engine.all) func generatedKeysAreReturnedOnceAndNeverStored(engine: Engine) async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ferry-genkey-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let h = try await Harness.make(engine: engine, data: dir)
        let privateKey = try await h.withClient { client in
            try await h.seed(client)
            let r = try await client.call(.post, "/v1/peers", token: h.admin, json: #"{"name":"phone","segment":"developers","generateKey":true}"#)
            #expect(r.status == 201)
            let created = try r.decode(PeerCreated.self)
            let config = try #require(created.config)
            let key = try #require(try WGQuickConfig(parsing: config).interface.privateKey)
            let again = try await client.call(.get, "/v1/peers/\(created.peer.id)/config", token: h.admin)
            #expect(!again.body.contains(key.base64))
            let export = try await client.call(.get, "/v1/audit/export", token: h.admin)
            #expect(!export.body.contains(key.base64) && export.body.split(separator: "\n").count > 3)
            return key.base64
        }
        if let database = h.config.database {
            let dump = try PostgresServer.start().dump(database: database.database)
            #expect(dump.contains("phone") && !dump.contains(privateKey), "private key found in the PostgreSQL database")
        } else {
            for file in try FileManager.default.contentsOfDirectory(atPath: dir.path) {
                let data = try Data(contentsOf: dir.appendingPathComponent(file))
                #expect(data.range(of: Data(privateKey.utf8)) == nil, "private key found in \(file)")
            }
        }
    }

    @Test(arguments: Engine.all) func gatewaysTokensAndAudit(engine: Engine) async throws {
        let h = try await Harness.make(engine: engine)
        try await h.withClient { client in
            try await h.seed(client)
            let gws = try await client.call(.get, "/v1/gateways", token: h.admin).decode(ListResponse<GatewayView>.self)
            let gw = try #require(gws.items.first)
            #expect(gw.ipv4 == "10.10.0.1" && gw.listenPort == 51820 && !gw.local)
            #expect(try await client.call(.get, "/v1/gateways/\(gw.id)", token: h.admin).decode(GatewayView.self) == gw)
            let upd = try await client.call(.patch, "/v1/gateways/\(gw.id)", token: h.admin, json: #"{"masquerade":true,"subnets":["172.20.0.0/24","172.21.0.0/24"]}"#)
            #expect(try upd.decode(GatewayView.self).masquerade)
            for format in ["wg-quick", "nftables", "iptables"] {
                let r = try await client.call(.get, "/v1/gateways/\(gw.id)/config?format=\(format)", token: h.admin)
                #expect(r.status == 200 && !r.body.isEmpty, "\(format)")
            }
            #expect(try await client.call(.get, "/v1/gateways/\(gw.id)/config?format=yaml", token: h.admin).errorField == "format")
            // The rules name the gateway's interface: a remote gateway's is wg0 unless told.
            let rules = try await client.call(.get, "/v1/gateways/\(gw.id)/config?format=nftables", token: h.admin).body
            #expect(rules.contains("iifname \"wg0\""))
            let named = try await client.call(.get, "/v1/gateways/\(gw.id)/config?format=nftables&interface=wg-dev", token: h.admin).body
            #expect(named.contains("iifname \"wg-dev\"") && !named.contains("\"wg0\""))
            let badName = try await client.call(.get, "/v1/gateways/\(gw.id)/config?format=nftables&interface=a%22b", token: h.admin)
            #expect(badName.status == 400 && badName.errorField == "interface", "\(badName.body)")
            let newKey = newPublicKey()
            let rot = try await client.call(.post, "/v1/gateways/\(gw.id)/rotate-key", token: h.admin, json: #"{"publicKey":"\#(newKey)"}"#)
            #expect(try rot.decode(GatewayView.self).publicKey == newKey)

            let t = try await client.call(.post, "/v1/tokens", token: h.admin, json: #"{"name":"viewer","scope":"read-only"}"#).decode(TokenCreated.self)
            #expect(t.secret.hasPrefix("ferry_"))
            let listed = try await client.call(.get, "/v1/tokens", token: h.admin)
            #expect(!listed.body.contains(t.secret))
            #expect(try await client.call(.get, "/v1/network", token: t.secret).status == 200)
            #expect(try await client.call(.delete, "/v1/tokens/\(t.token.id)", token: h.admin).status == 204)
            #expect(try await client.call(.get, "/v1/network", token: t.secret).status == 401)

            #expect(try await client.call(.delete, "/v1/gateways/\(gw.id)", token: h.admin).status == 204)
            let actor = "token:\(try await h.store.authenticate(Substring(h.admin)).tokenID)"
            let audit = try await client.call(.get, "/v1/audit?actor=\(actor)&limit=1000", token: h.admin).decode(ListResponse<AuditEventView>.self)
            #expect(audit.items.contains { $0.action == "gateway.delete" })
            #expect(audit.items.allSatisfy { $0.actor == actor })
            let since = ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: Double(h.clock.now()) / 1000 + 1))
            let none = try await client.call(.get, "/v1/audit?since=\(since)", token: h.admin).decode(ListResponse<AuditEventView>.self)
            #expect(none.items.isEmpty)
            return ()
        }
    }

    /// Long poll: 304 when the map does not change within `wait`; a change answers at once.
    @Test(arguments: Engine.all) func netmapLongPoll(engine: Engine) async throws {
        let h = try await Harness.make(engine: engine)
        try await h.withClient { client in
            try await h.seed(client)
            let p = try await h.peer(client, name: "laptop")
            let map = try await client.call(.get, "/v1/peers/\(p.id)/netmap", token: h.admin).decode(NetworkMap.self)
            let unchanged = try await client.call(.get, "/v1/peers/\(p.id)/netmap?since=\(map.version)&wait=1", token: h.admin)
            #expect(unchanged.status == 304)
            // An unrelated change does not wake this peer's poll with the same map.
            let start = ContinuousClock.now
            async let poll = client.call(.get, "/v1/peers/\(p.id)/netmap?since=\(map.version)&wait=20", token: h.admin)
            try await Task.sleep(for: .milliseconds(300))
            _ = try await client.call(.post, "/v1/segments", token: h.admin, json: #"{"name":"unrelated"}"#)
            try await Task.sleep(for: .milliseconds(300))
            _ = try await client.call(.post, "/v1/policy/rules", token: h.admin, json: #"{"from":"developers","toSegment":"ci"}"#)
            let changed = try await poll
            #expect(changed.status == 200)
            #expect(try changed.decode(NetworkMap.self).version != map.version)
            // Answered by the change, not by the 20 s wait (with a margin for a loaded
            // machine: it took 5.1 s once with every suite running on two cores).
            #expect(ContinuousClock.now - start < .seconds(15))
            return ()
        }
    }
}

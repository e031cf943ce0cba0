import FerryCore
import FerryTestSupport
@testable import FerryServer
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

/// The admin page's traffic charts, audit filters, gateways table and token revoke (issue 10).
extension PortalAdminTests {
    /// On both engines: the audit filter's LIKE … ESCAPE is SQL both must read alike.
    @Test(.timeLimit(.minutes(3)), arguments: Engine.all)
    func trafficHistoryAuditFiltersGatewaysAndTokenRevoke(engine: Engine) async throws {
        guard let issuer = TestIssuer.start("portal admin gaps") else { return }
        defer { issuer.stop() }
        let (h, clock) = try await PortalSignInTests.harness(issuer, engine: engine)
        try await h.withClient { client in
            try await h.seed(client)
            // An admin session (the admin token) and a developer's (alice), each with a device or peer.
            var admin = PortalBrowser()
            let r = try await admin.call(client, .post, "/portal/login/token", form: "token=\(h.admin)&return=/portal/admin")
            admin.keep(r)
            let adminPage = try await admin.call(client, .get, "/portal/admin")
            admin.csrf = PortalTest.csrf(adminPage.body)
            var alice = PortalBrowser()
            _ = try await PortalTest.signIn(client, &alice, user: "alice", clock: clock)
            alice.csrf = PortalTest.csrf(try await alice.call(client, .get, "/portal/devices").body)
            let added = try await alice.call(client, .post, "/portal/api/devices", json: #"{"name":"alice-laptop","publicKey":"\#(newPublicKey())"}"#)
            let laptop = try FerryJSON.decoder().decode(PortalDeviceCreated.self, from: Data(added.body.utf8)).peer
            let other = try await h.peer(client, name: "ci-runner", segment: "ci")
            for (id, rx) in [(laptop.id, 1000), (other.id, 5000)] {
                let rep = try await client.call(.post, "/v1/peers/\(id)/report", token: h.admin, json: #"{"rxBytes":\#(rx),"txBytes":\#(rx * 2)}"#)
                #expect(rep.status == 204, "\(rep.body)")
            }

            // Traffic: the admin sees every peer and the gateway, alice only her device.
            let all = try await admin.call(client, .get, "/portal/api/traffic")
            #expect(all.status == 200, "\(all.body)")
            let series = try FerryJSON.decoder().decode(ListResponse<TrafficSeries>.self, from: Data(all.body.utf8)).items
            #expect(Set(series.map(\.id)).isSuperset(of: [laptop.id, other.id]) && series.contains { $0.kind == "gateway" }, "\(series)")
            #expect(series.first { $0.id == other.id }?.samples.last?.rxBytes == 5000)
            let mine = try FerryJSON.decoder().decode(ListResponse<TrafficSeries>.self,
                                                      from: Data(try await alice.call(client, .get, "/portal/api/traffic").body.utf8)).items
            #expect(mine.map(\.id) == [laptop.id] && mine.first?.samples.last?.txBytes == 2000, "\(mine)")
            #expect(try await PortalBrowser().call(client, .get, "/portal/api/traffic").status == 401)
            // The charts' places on both pages (drawn by traffic.js, which the CSP allows).
            #expect(adminPage.body.contains("id=\"traffic\"") && adminPage.body.contains("admin.js"))
            #expect(try await alice.call(client, .get, "/portal/devices").body.contains("id=\"traffic\""))
            #expect(try await admin.call(client, .get, "/portal/static/js/traffic.js").status == 200)

            // The gateways table: liveness status (no heartbeat yet: unknown), priority, handshakes.
            #expect(adminPage.body.contains("status-unknown") && adminPage.body.contains("<th>Priority</th>") && adminPage.body.contains("<th>Last handshake</th>"))

            // Token revoke: CSRF-protected, admins only, through the store's deleteToken.
            let made = try await admin.call(client, .post, "/portal/api/admin/tokens", json: #"{"name":"ci-jobs","scope":"ci","segment":"ci"}"#)
            #expect(made.status == 201, "\(made.body)")
            let token = try FerryJSON.decoder().decode(TokenCreated.self, from: Data(made.body.utf8)).token
            let page = try await admin.call(client, .get, "/portal/admin").body
            #expect(page.contains("data-revoke-token=\"\(token.id)\""))
            #expect(try await admin.call(client, .delete, "/portal/api/admin/tokens/\(token.id)", csrf: .some(nil)).status == 403)
            #expect(try await admin.call(client, .delete, "/portal/api/admin/tokens/\(token.id)", origin: "https://evil.test").status == 403)
            #expect(try await alice.call(client, .delete, "/portal/api/admin/tokens/\(token.id)").status == 403)
            #expect(try await client.call(.get, "/v1/tokens", token: h.admin).body.contains(token.id))
            #expect(try await admin.call(client, .delete, "/portal/api/admin/tokens/\(token.id)").status == 204)
            #expect(!(try await client.call(.get, "/v1/tokens", token: h.admin).body.contains(token.id)))
            #expect(try await admin.call(client, .delete, "/portal/api/admin/tokens/\(token.id)").status == 404)

            // Audit filters: action (exact or family), actor, peer, time range; newest first; admins only.
            func audit(_ query: String) async throws -> [AuditEventView] {
                let a = try await admin.call(client, .get, "/portal/api/admin/audit?" + query)
                #expect(a.status == 200, "\(query): \(a.body)")
                return try FerryJSON.decoder().decode(ListResponse<AuditEventView>.self, from: Data(a.body.utf8)).items
            }
            let tokenFamily = try await audit("action=token")
            #expect(!tokenFamily.isEmpty && tokenFamily.allSatisfy { $0.action.hasPrefix("token.") }, "\(tokenFamily.map(\.action))")
            #expect(tokenFamily.map(\.seq) == tokenFamily.map(\.seq).sorted(by: >))
            let deletes = try await audit("action=token.delete")
            #expect(deletes.first?.objectID == token.id && deletes.allSatisfy { $0.action == "token.delete" })
            #expect(try await audit("action=token.%25").isEmpty)  // LIKE wildcards are literal
            let aliceOnly = try await audit("actor=user:alice@acme.test")
            #expect(!aliceOnly.isEmpty && aliceOnly.allSatisfy { $0.actor == "user:alice@acme.test" }, "\(aliceOnly.map(\.actor))")
            let laptopOnly = try await audit("peer=\(laptop.id)")
            #expect(!laptopOnly.isEmpty && laptopOnly.allSatisfy { $0.peer == laptop.id })
            #expect(try await audit("since=2100-01-01T00:00:00Z").isEmpty)
            #expect(try await audit("until=2000-01-01T00:00:00Z").isEmpty)
            #expect(try await audit("limit=2").count == 2)
            #expect(try await admin.call(client, .get, "/portal/api/admin/audit?since=yesterday").status == 400)
            #expect(try await alice.call(client, .get, "/portal/api/admin/audit").status == 403)

            // The last admin token is never revoked (the store's rule, a clear 409).
            // Others first: deleting the token a session signed in with ends that session.
            let signin = try #require(try await audit("action=portal.signin").first { $0.actor.hasPrefix("token:") })
            let own = String(signin.actor.dropFirst("token:".count))
            let admins = try await client.call(.get, "/v1/tokens", token: h.admin).decode(ListResponse<TokenView>.self).items.filter { $0.scope == "admin" }
            let last = try #require(admins.first { $0.id == own })
            for t in admins where t.id != own {
                let d = try await admin.call(client, .delete, "/portal/api/admin/tokens/\(t.id)")
                #expect(d.status == 204, "\(admins.count) \(t.id) \(t.name): \(d.body)")
            }
            let refused = try await admin.call(client, .delete, "/portal/api/admin/tokens/\(last.id)")
            #expect(refused.status == 409 && refused.body.contains("last admin token"), "\(refused.status) \(refused.body)")
        }
    }

    /// The history's memory is bounded: points per peer (and the window), and only peers that exist.
    @Test func trafficHistoryIsBounded() {
        let history = TrafficHistory(window: 3600, maxSamples: 360, minSpacing: 5)
        let start = Date(timeIntervalSince1970: 1_800_000_000)
        func peer(_ id: String, _ n: Int64) -> PeerView {
            PeerView(id: id, name: id, kind: "device", owner: "o", segment: "s", ipv4: "10.0.0.1", publicKey: "k", tunnel: "split", dns: [], mtu: 1420,
                     keepalive: 25, mesh: false, enabled: true, ephemeral: false, allowedIPs: [], createdAt: start, updatedAt: start, createdBy: "t",
                     rxBytes: n, txBytes: n)
        }
        for i in 0..<1000 { history.record([peer("a", Int64(i)), peer("b", Int64(i))], now: start.addingTimeInterval(Double(i) * 10)) }
        let s = history.series(only: nil)
        #expect(s.map(\.id) == ["a", "b"] && s.allSatisfy { $0.samples.count <= 360 })
        let last = start.addingTimeInterval(9990)
        #expect(s[0].samples.last?.at == last && s[0].samples.first.map { last.timeIntervalSince($0.at) <= 3600 } == true)
        // A burst closer than minSpacing makes one point with the newest counters.
        history.record([peer("a", 5000)], now: last.addingTimeInterval(1))
        let a = history.series(only: ["a"])
        #expect(a.count == 1 && a[0].samples.count == s[0].samples.count && a[0].samples.last?.rxBytes == 5000)
        // The endpoint samples only when a new point would be made.
        #expect(!history.due(now: last.addingTimeInterval(2)) && history.due(now: last.addingTimeInterval(7)))
        // A removed peer is forgotten.
        #expect(history.series(only: nil).map(\.id) == ["a"])
    }
}

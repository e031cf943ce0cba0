import FerryCore
@testable import FerryServer
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing
import WireGuard

/// The sharp edges of issue 15 on the API side: removed devices are told so, enrolment can
/// be retried, the API refuses what its document forbids and accepts what it allows.
@Suite("First-day edges: the API")
struct EdgesAPITests {
    func enrol(_ client: any TestClientProtocol, token: String, key: String, name: String? = nil) async throws -> Reply {
        let n = name.map { #""name":"\#($0)","# } ?? ""
        return try await client.call(.post, "/v1/enroll", token: token, json: #"{\#(n)"publicKey":"\#(key)"}"#)
    }

    func audit(_ client: any TestClientProtocol, _ h: Harness) async throws -> [AuditEventView] {
        try await client.call(.get, "/v1/audit?limit=1000", token: h.admin).decode(ListResponse<AuditEventView>.self).items
    }

    @Test(arguments: Engine.all) func aDeletedDeviceIsToldWhoRemovedItAndTheTokenDeletionIsAudited(engine: Engine) async throws {
        let h = try await Harness.make(engine: engine)
        try await h.withClient { client in
            try await h.seed(client)
            let enroll = try await h.token(client, #"{"name":"alice-laptop","scope":"enroll","segment":"developers"}"#)
            let enrolled = try await enrol(client, token: enroll, key: newPublicKey())
            #expect(enrolled.status == 201, "\(enrolled.body)")
            let r = try enrolled.decode(EnrollResponse.self)
            // No name given: the token's name, not the host's.
            #expect(r.peer.name == "alice-laptop")
            #expect(try await client.call(.delete, "/v1/peers/\(r.peer.id)", token: h.admin).status == 204)
            let after = try await client.call(.get, "/v1/peers/\(r.peer.id)/netmap", token: r.deviceToken)
            #expect(after.status == 401 && after.errorCode == "peer_removed", "\(after.body)")
            #expect(after.body.contains("alice-laptop") && after.body.contains("removed by token:"), "\(after.body)")
            let events = try await audit(client, h)
            #expect(events.contains { $0.action == "token.delete" && $0.peer == r.peer.id }, "the device token's deletion is audited")
            // A gateway's deletion is a gateway's.
            let gw = try await client.call(.get, "/v1/gateways", token: h.admin).decode(ListResponse<GatewayView>.self).items[0]
            #expect(try await client.call(.delete, "/v1/gateways/\(gw.id)", token: h.admin).status == 204)
            let gone = try await audit(client, h).first { $0.action == "gateway.delete" }
            #expect(gone?.objectType == "gateway")
        }
    }

    @Test(arguments: Engine.all) func anExpiredCIPeerIsToldItsTTLRanOut(engine: Engine) async throws {
        let clock = ManualClock()
        let h = try await Harness.make(engine: engine, clock: clock)
        try await h.withClient { client in
            try await h.seed(client)
            let ci = try await h.token(client, #"{"name":"runner","scope":"ci","segment":"ci","maxTTLSeconds":600}"#)
            let long = try await client.call(.post, "/v1/peers", token: ci, json: #"{"name":"job2","publicKey":"\#(newPublicKey())","ttlSeconds":3600}"#)
            #expect(long.status == 403 && long.body.contains("at most 10m"), "the token's maximum, in its units: \(long.body)")
            let created = try await client.call(.post, "/v1/peers", token: ci, json: #"{"name":"job1","publicKey":"\#(newPublicKey())","ttlSeconds":60}"#)
            #expect(created.status == 201, "\(created.body)")
            clock.advance(by: 61_000)
            // The running reaper (woken by the clock) may come first: one removal either way.
            _ = try await h.store.reapExpired()
            #expect(try await h.store.audit(.init(actor: "system:reaper")).filter { $0.action == "peer.expire" }.count == 1)
            let gone = try await client.call(.get, "/v1/peers/\(try created.decode(PeerCreated.self).peer.id)", token: ci)
            // The ci token is not the peer's own: it stays valid (404 for the gone peer).
            #expect(gone.status == 404, "\(gone.body)")
            #expect(try await audit(client, h).contains { $0.action == "peer.expire" })
        }
    }

    @Test(arguments: Engine.all) func anInterruptedEnrolmentCanBeRetried(engine: Engine) async throws {
        let clock = ManualClock()
        let h = try await Harness.make(engine: engine, clock: clock)
        try await h.withClient { client in
            try await h.seed(client)
            let token = try await h.token(client, #"{"name":"bob","scope":"enroll","segment":"developers"}"#)
            let key = newPublicKey()
            let first = try await enrol(client, token: token, key: key, name: "bob-laptop")
            #expect(first.status == 201, "\(first.body)")
            // The answer was lost: the same token and key again get the same peer, a new device token.
            let again = try await enrol(client, token: token, key: key, name: "bob-laptop")
            #expect(again.status == 201, "\(again.body)")
            let a = try first.decode(EnrollResponse.self), b = try again.decode(EnrollResponse.self)
            #expect(a.peer.id == b.peer.id && a.deviceToken != b.deviceToken)
            #expect(try await client.call(.get, "/v1/peers/\(b.peer.id)/netmap", token: b.deviceToken).status == 200)
            #expect(try await client.call(.get, "/v1/peers/\(a.peer.id)/netmap", token: a.deviceToken).status == 401)
            // Another key with the spent token: refused, saying what to do.
            let other = try await enrol(client, token: token, key: newPublicKey(), name: "eve")
            #expect(other.status == 401 && other.body.contains("already used") && other.body.contains("new one"), "\(other.body)")
            // After the window, not even the same key.
            clock.advance(by: EnrolmentRetry.windowMs + 1000)
            #expect(try await enrol(client, token: token, key: key, name: "bob-laptop").status == 401)
            // A fresh token for a name that exists: what to do, and the token stays usable.
            let fresh = try await h.token(client, #"{"name":"bob2","scope":"enroll","segment":"developers"}"#)
            let clash = try await enrol(client, token: fresh, key: newPublicKey(), name: "bob-laptop")
            #expect(clash.status == 409 && clash.body.contains("--name") && clash.body.contains("ferry peers rm bob-laptop"), "\(clash.body)")
            #expect(try await enrol(client, token: fresh, key: newPublicKey(), name: "bob-desktop").status == 201)
        }
    }

    @Test(arguments: Engine.all) func theLastAdminTokenAndTheCallersOwnNeedCare(engine: Engine) async throws {
        let h = try await Harness.make(engine: engine)
        try await h.withClient { client in
            let tokens = try await client.call(.get, "/v1/tokens", token: h.admin).decode(ListResponse<TokenView>.self).items
            let mine = try #require(tokens.first { $0.name == "test-admin" })
            let other = try #require(tokens.first { $0.name == "bootstrap-admin" })
            let own = try await client.call(.delete, "/v1/tokens/\(mine.id)", token: h.admin)
            #expect(own.status == 409 && own.body.contains("confirm=self"), "\(own.body)")
            #expect(try await client.call(.delete, "/v1/tokens/\(mine.id)?confirm=yes", token: h.admin).status == 400)
            #expect(try await client.call(.delete, "/v1/tokens/\(other.id)", token: h.admin).status == 204)
            // Now the last one: not even with the confirmation.
            let last = try await client.call(.delete, "/v1/tokens/\(mine.id)?confirm=self", token: h.admin)
            #expect(last.status == 409 && last.body.contains("last admin token"), "\(last.body)")
            #expect(try await client.call(.get, "/v1/tokens", token: h.admin).status == 200)
        }
    }

    @Test(arguments: Engine.all) func whatTheDocumentForbidsIsRefused(engine: Engine) async throws {
        let h = try await Harness.make(engine: engine)
        try await h.withClient { client in
            try await h.seed(client)
            let before = try await h.store.auditCount()
            let kind = try await client.call(.get, "/v1/peers?kind=AAA", token: h.admin)
            #expect(kind.status == 400 && kind.errorField == "kind", "\(kind.body)")
            for path in ["/v1/network", "/v1/gateways/\(try await client.call(.get, "/v1/gateways", token: h.admin).decode(ListResponse<GatewayView>.self).items[0].id)"] {
                let empty = try await client.call(.patch, path, token: h.admin)
                #expect(empty.status == 400 && empty.errorCode == "missing_body", "\(path): \(empty.body)")
            }
            let dup = try await client.call(.post, "/v1/segments", token: h.admin, json: #"{"name":"a","name":"b"}"#)
            #expect(dup.status == 400 && dup.errorField == "name", "\(dup.body)")
            let null = try await client.call(.post, "/v1/segments", token: h.admin, json: #"{"name":null}"#)
            #expect(null.status == 400 && null.errorField == "name", "\(null.body)")
            let seg = try await client.call(.delete, "/v1/segments/gateways", token: h.admin)
            #expect(seg.status == 409, "\(seg.body)")
            #expect(try await h.store.auditCount() == before, "nothing refused was written")
            // Unknown methods: 405 with Allow and the JSON error; unknown paths: the JSON 404.
            let put = try await client.call(.put, "/v1/peers", token: h.admin)
            #expect(put.status == 405 && put.errorCode == "method_not_allowed", "\(put.body)")
            let nowhere = try await client.call(.get, "/v1/nowhere", token: h.admin)
            #expect(nowhere.status == 404 && nowhere.errorCode == "not_found", "\(nowhere.body)")
        }
    }

    @Test(arguments: Engine.all) func whatTheDocumentAllowsIsAccepted(engine: Engine) async throws {
        let h = try await Harness.make(engine: engine)
        try await h.withClient { client in
            let r = try await client.call(.get, "/v1/audit?since=2026-01-01T00:00:00.25Z", token: h.admin)
            #expect(r.status == 200, "\(r.body)")
        }
    }

    @Test func theAutoCertificateNamesWhereClientsConnect() throws {
        let wildcard = TLSSetup.names(listen: "0.0.0.0", extra: ["ferry.example.com"])
        #expect(wildcard.contains("127.0.0.1") && wildcard.contains("ferry.example.com") && !wildcard.contains("0.0.0.0"))
        #expect(wildcard.count > 4, "the host's own addresses: \(wildcard)")
        #expect(TLSSetup.names(listen: "10.1.2.3", extra: []).contains("10.1.2.3"))
    }
}

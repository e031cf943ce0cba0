import FerryCore
@testable import FerryServer
import Foundation
import HTTPTypes
import WireGuard
import HummingbirdTesting
import Testing

@Suite("Authorization matrix")
struct AuthorizationTests {
    /// Every protected route refuses a missing, malformed, unknown and expired token with
    /// 401 and every scope it does not admit with 403, and none of it writes anything.
    @Test(arguments: Engine.all) func everyRouteRefusesBadTokensAndWrongScopes(engine: Engine) async throws {
        let h = try await Harness.make(engine: engine)
        let (_, routes) = buildRouter(h.services)
        try await h.withClient { client in
            try await h.seed(client)
            let peer = try await h.peer(client, name: "laptop")
            let gw = try #require(try await client.call(.get, "/v1/gateways", token: h.admin).decode(ListResponse<GatewayView>.self).items.first)
            let rule = try #require(try await client.call(.get, "/v1/policy/rules", token: h.admin).decode(ListResponse<PolicyRuleView>.self).items.first)
            let tokens = try await client.call(.get, "/v1/tokens", token: h.admin).decode(ListResponse<TokenView>.self).items
            let tokenID = try #require(tokens.first?.id)

            var byScope: [Scope: String] = [:]
            byScope[.admin] = h.admin
            byScope[.readOnly] = try await h.token(client, #"{"name":"ro","scope":"read-only"}"#)
            byScope[.ci] = try await h.token(client, #"{"name":"ci","scope":"ci","segment":"ci","maxTTLSeconds":600}"#)
            let enroll = try await h.token(client, #"{"name":"enr","scope":"enroll","segment":"developers"}"#)
            let enrolled = try await client.call(.post, "/v1/enroll", token: enroll, json: #"{"name":"phone","publicKey":"\#(newPublicKey())"}"#)
            #expect(enrolled.status == 201, "\(enrolled.body)")
            byScope[.device] = try enrolled.decode(EnrollResponse.self).deviceToken
            byScope[.enroll] = try await h.token(client, #"{"name":"enr2","scope":"enroll","segment":"developers"}"#)
            let expired = try await h.token(client, #"{"name":"old","scope":"admin","expiresInSeconds":60}"#)
            h.clock.advance(by: 61_000)

            let auditBefore = try await h.store.auditCount()
            let peersBefore = try await h.store.peers(caller: .system("t")).count
            for route in routes {
                guard let scopes = route.scopes else { continue }
                let path = route.path.replacingOccurrences(of: "{name}", with: "developers")
                    .replacingOccurrences(of: "{id}", with: path(for: route.path, peer: peer.id, gateway: gw.id, rule: rule.id, token: tokenID))
                let method = HTTPRequest.Method(route.method)!
                let body = method == .get || method == .delete ? nil : "{}"
                let label = "\(route.method) \(route.path)"
                let cases: [(String?, String?, Int)] = [
                    (nil, nil, 401), (nil, "Bearer not-a-token", 401), (nil, "Basic YWRtaW46YWRtaW4=", 401),
                    ("ferry_" + String(repeating: "A", count: 43), nil, 401), (expired, nil, 401),
                ]
                for (token, raw, status) in cases {
                    let r = try await client.call(method, path, token: token, json: body, rawAuthorization: raw)
                    #expect(r.status == status, "\(label) with \(raw ?? token ?? "no token"): \(r.status) \(r.body)")
                    #expect(r.errorCode == "unauthorized", "\(label)")
                }
                for scope in Scope.allCases where !scopes.contains(scope) {
                    let r = try await client.call(method, path, token: byScope[scope], json: body)
                    #expect(r.status == 403, "\(label) with a \(scope.rawValue) token: \(r.status) \(r.body)")
                }
            }
            #expect(try await h.store.auditCount() == auditBefore, "refused requests wrote to the audit log")
            #expect(try await h.store.peers(caller: .system("t")).count == peersBefore)
            return ()
        }
    }

    func path(for template: String, peer: String, gateway: String, rule: String, token: String) -> String {
        if template.hasPrefix("/v1/gateways") { return gateway }
        if template.hasPrefix("/v1/policy") { return rule }
        if template.hasPrefix("/v1/tokens") { return token }
        return peer
    }

    /// A ci token stays inside its limits and cannot touch another token's peers; a device
    /// token sees only its own peer. Nothing refused is written.
    @Test(arguments: Engine.all) func ciAndDeviceTokensStayInTheirLane(engine: Engine) async throws {
        let h = try await Harness.make(engine: engine)
        try await h.withClient { client in
            try await h.seed(client)
            let ciA = try await h.token(client, #"{"name":"ci-a","scope":"ci","segment":"ci","maxTTLSeconds":600}"#)
            let ciB = try await h.token(client, #"{"name":"ci-b","scope":"ci","segment":"ci","maxTTLSeconds":600}"#)
            let mine = try await h.peer(client, name: "job-a", segment: "ci", token: ciA, extra: #","ttlSeconds":300"#)
            #expect(mine.kind == "ci" && mine.ephemeral)
            let before = try await h.store.auditCount()

            let tooLong = try await client.call(.post, "/v1/peers", token: ciA, json: #"{"name":"x1","publicKey":"\#(newPublicKey())","ttlSeconds":601}"#)
            #expect(tooLong.status == 403 && tooLong.errorField == "ttlSeconds", "\(tooLong.body)")
            let noTTL = try await client.call(.post, "/v1/peers", token: ciA, json: #"{"name":"x2","publicKey":"\#(newPublicKey())"}"#)
            #expect(noTTL.status == 403 && noTTL.errorField == "ttlSeconds", "\(noTTL.body)")
            let otherSegment = try await client.call(.post, "/v1/peers", token: ciA,
                                                     json: #"{"name":"x3","segment":"developers","publicKey":"\#(newPublicKey())","ttlSeconds":60}"#)
            #expect(otherSegment.status == 403 && otherSegment.errorField == "segment", "\(otherSegment.body)")
            let device = try await client.call(.post, "/v1/peers", token: ciA, json: #"{"name":"x4","kind":"device","publicKey":"\#(newPublicKey())","ttlSeconds":60}"#)
            #expect(device.status == 403 && device.errorField == "kind", "\(device.body)")
            // Internet egress and direct links are not for CI jobs.
            let full = try await client.call(.post, "/v1/peers", token: ciA, json: #"{"name":"x5","tunnel":"full","publicKey":"\#(newPublicKey())","ttlSeconds":60}"#)
            #expect(full.status == 403 && full.errorField == "tunnel", "\(full.body)")
            let mesh = try await client.call(.post, "/v1/peers", token: ciA, json: #"{"name":"x6","mesh":true,"publicKey":"\#(newPublicKey())","ttlSeconds":60}"#)
            #expect(mesh.status == 403 && mesh.errorField == "mesh", "\(mesh.body)")

            for (method, suffix) in [(HTTPRequest.Method.get, ""), (.get, "/config"), (.delete, "")] {
                let r = try await client.call(method, "/v1/peers/\(mine.id)\(suffix)", token: ciB)
                #expect(r.status == 404, "ci token B on A's peer \(method) \(suffix): \(r.status) (it may not see it)")
            }
            let listB = try await client.call(.get, "/v1/peers", token: ciB).decode(ListResponse<PeerView>.self)
            #expect(listB.items.isEmpty)
            let listA = try await client.call(.get, "/v1/peers", token: ciA).decode(ListResponse<PeerView>.self)
            #expect(listA.items.map(\.id) == [mine.id])

            let enroll = try await h.token(client, #"{"name":"enr","scope":"enroll","segment":"developers"}"#)
            let e = try await client.call(.post, "/v1/enroll", token: enroll, json: #"{"name":"tablet","publicKey":"\#(newPublicKey())"}"#)
            let dev = try e.decode(EnrollResponse.self)
            let afterEnroll = try await h.store.auditCount()
            for path in ["/v1/peers/\(mine.id)", "/v1/peers/\(mine.id)/netmap", "/v1/peers/\(mine.id)/config"] {
                let r = try await client.call(.get, path, token: dev.deviceToken)
                #expect(r.status == 404, "device token on another peer: \(path) \(r.status) (it may not see it)")
            }
            let report = try await client.call(.post, "/v1/peers/\(mine.id)/report", token: dev.deviceToken, json: #"{"rxBytes":1}"#)
            #expect(report.status == 404)
            let own = try await client.call(.get, "/v1/peers/\(dev.peer.id)/netmap", token: dev.deviceToken)
            #expect(own.status == 200)
            #expect(try await h.store.auditCount() == afterEnroll)
            #expect(afterEnroll > before)
            #expect(try await client.call(.get, "/v1/peers/\(mine.id)", token: h.admin).status == 200, "A's peer survived")

            let deleted = try await client.call(.delete, "/v1/peers/\(mine.id)", token: ciA)
            #expect(deleted.status == 204)
            return ()
        }
    }

    /// An enrolment token works once.
    @Test(arguments: Engine.all) func enrolmentTokensAreSingleUse(engine: Engine) async throws {
        let h = try await Harness.make(engine: engine)
        try await h.withClient { client in
            try await h.seed(client)
            let enroll = try await h.token(client, #"{"name":"enr","scope":"enroll","segment":"developers","owner":"alice"}"#)
            let first = try await client.call(.post, "/v1/enroll", token: enroll, json: #"{"name":"laptop","publicKey":"\#(newPublicKey())"}"#)
            #expect(first.status == 201, "\(first.body)")
            let r = try first.decode(EnrollResponse.self)
            #expect(r.peer.owner == "alice" && r.peer.segment == "developers")
            #expect(r.netmap.peers.first?.allowedIPs.contains("172.20.0.0/24") == true)
            #expect(!first.body.contains("PrivateKey"), "enrolment never sees a private key")
            let second = try await client.call(.post, "/v1/enroll", token: enroll, json: #"{"name":"laptop2","publicKey":"\#(newPublicKey())"}"#)
            #expect(second.status == 401)
            return ()
        }
    }
}

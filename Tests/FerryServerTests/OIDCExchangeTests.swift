import FerryCore
import FerryTestSupport
@testable import FerryServer
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

/// Keyless CI peers against a real OpenID Connect issuer (scripts/oidc/test_issuer.py on
/// loopback): the exchange, each refusal and its message, single use, key rotation and the
/// bound on JWKS fetches.
@Suite("OIDC exchange against the test issuer")
struct OIDCExchangeTests {
    static let good: [String: String] = ["repository": "acme/api", "ref": "refs/heads/main", "run_id": "4242", "workflow": "deploy"]

    /// A harness whose clock reads the real time (the issuer signs with it), seeded, with
    /// one trust rule for acme/api on main into segment ci, reaching 172.20.0.5 only.
    static func setUp(_ issuer: TestIssuer, engine: Engine, refetch: Duration = .seconds(30)) async throws -> Harness {
        let clock = ManualClock(now: Int64(Date().timeIntervalSince1970 * 1000))
        issuer.onMint = { clock.catchUpToRealTime() }
        return try await Harness.make(engine: engine, clock: clock) { $0.oidcRefetchInterval = refetch }
    }

    static func addRule(_ h: Harness, _ client: any TestClientProtocol, _ issuer: TestIssuer, claims: String = #"{"repository":"acme/api","ref":"refs/heads/main"}"#) async throws -> TrustRuleView {
        let r = try await client.call(.post, "/v1/ci/trust", token: h.admin, json: """
            {"issuer":"\(issuer.issuer)","audience":"ferry","claims":\(claims),"segment":"ci","maxTTLSeconds":3600,"allowedIPs":["172.20.0.5/32"]}
            """)
        #expect(r.status == 201, "\(r.body)")
        return try r.decode(TrustRuleView.self)
    }

    static func exchange(_ client: any TestClientProtocol, _ token: String, extra: String = "") async throws -> Reply {
        try await client.call(.post, "/v1/ci/oidc", token: nil, json: #"{"idToken":"\#(token)","publicKey":"\#(newPublicKey())"\#(extra)}"#)
    }

    @Test(.timeLimit(.minutes(4)), arguments: Engine.all)
    func exchangeAndRefusals(engine: Engine) async throws {
        guard let issuer = TestIssuer.start("OIDC exchange") else { return }
        defer { issuer.stop() }
        let h = try await Self.setUp(issuer, engine: engine)
        try await h.withClient { client in
            try await h.seed(client)
            let rule = try await Self.addRule(h, client, issuer)

            // The job: a peer in ci, narrowed to the rule's one host, TTL capped at the rule's hour.
            let token = try await issuer.mint(Self.good)
            let r = try await Self.exchange(client, token, extra: #","ttlSeconds":7200"#)
            #expect(r.status == 201, "\(r.body)")
            let ex = try r.decode(OIDCExchangeResponse.self)
            #expect(ex.peer.segment == "ci" && ex.peer.kind == "ci" && ex.peer.ephemeral)
            #expect(ex.peer.allowedIPs == ["172.20.0.5/32"])
            #expect(ex.rule == rule.id)
            let ttl = (ex.peer.expiresAt ?? .distantPast).timeIntervalSince(ex.peer.createdAt)
            #expect(abs(ttl - 3600) < 1)

            // The audit record names the issuer and the claims that matched.
            let audit = try await client.call(.get, "/v1/audit?peer=\(ex.peer.id)", token: h.admin)
            #expect(audit.body.contains(issuer.issuer.replacingOccurrences(of: "/", with: "\\/")) || audit.body.contains(issuer.issuer))
            #expect(audit.body.contains("acme/api") && audit.body.contains("refs/heads/main") && audit.body.contains("4242"))

            // Its token reads its config and deletes its peer, and creates nothing.
            #expect(try await client.call(.get, "/v1/peers/\(ex.peer.id)/config", token: ex.token).status == 200)
            let more = try await client.call(.post, "/v1/peers", token: ex.token, json: #"{"name":"x","publicKey":"\#(newPublicKey())","ttlSeconds":60}"#)
            #expect(more.status == 403, "\(more.body)")

            let auditBefore = try await h.store.auditCount()
            // Each refusal, with its reason and without the rule's expected values.
            let replay = try await Self.exchange(client, token)
            #expect(replay.status == 401 && replay.body.contains("already used"), "\(replay.body)")
            let otherRepo = try await Self.exchange(client, try await issuer.mint(Self.good.merging(["repository": "acme/web"]) { $1 }))
            #expect(otherRepo.status == 403 && otherRepo.body.contains("'repository' (acme/web)") && !otherRepo.body.contains("acme/api"), "\(otherRepo.body)")
            let otherRef = try await Self.exchange(client, try await issuer.mint(Self.good.merging(["ref": "refs/heads/dev"]) { $1 }))
            #expect(otherRef.status == 403 && otherRef.body.contains("'ref' (refs/heads/dev)") && !otherRef.body.contains("refs/heads/main"), "\(otherRef.body)")
            let expired = try await Self.exchange(client, try await issuer.mint(Self.good, expiresIn: -120, iatOffset: -600))
            #expect(expired.status == 401 && expired.body.contains("expired"), "\(expired.body)")
            let unknownKey = try await Self.exchange(client, try await issuer.mint(Self.good, kid: "unknown"))
            #expect(unknownKey.status == 401 && unknownKey.body.contains("does not publish"), "\(unknownKey.body)")
            let audience = try await Self.exchange(client, try await issuer.mint(Self.good, aud: "someone-else"))
            #expect(audience.status == 401 && audience.body.contains("audience (someone-else)"), "\(audience.body)")
            let foreign = try await Self.exchange(client, try await issuer.mint(Self.good.merging(["iss": "https://issuer.invalid"]) { $1 }))
            #expect(foreign.status == 401 && foreign.body.contains("not trusted"), "\(foreign.body)")
            let future = try await Self.exchange(client, try await issuer.mint(Self.good, iatOffset: 900))
            #expect(future.status == 401 && future.body.contains("future"), "\(future.body)")
            var parts = try await issuer.mint(Self.good).split(separator: ".").map(String.init)
            parts[1] = parts[1].replacingOccurrences(of: "a", with: "b")
            let forged = try await Self.exchange(client, parts.joined(separator: "."))
            #expect(forged.status == 401, "\(forged.body)")
            for garbage in ["", "a.b", "...", "x.y.z", String(repeating: "A", count: 20000)] {
                let g = try await Self.exchange(client, garbage)
                #expect(g.status == 401 || g.status == 400, "\(garbage.prefix(10)): \(g.body)")
            }
            let tooWide = try await Self.exchange(client, try await issuer.mint(Self.good), extra: #","allowedIPs":["172.20.0.0/24"]"#)
            #expect(tooWide.status == 403, "\(tooWide.body)")
            #expect(try await h.store.auditCount() == auditBefore, "refusals change nothing")

            // ES256 from the same issuer; a glob rule; deleting the peer with its own token.
            let es = try await Self.exchange(client, try await issuer.mint(Self.good, alg: "ES256"))
            #expect(es.status == 201, "\(es.body)")
            _ = try await Self.addRule(h, client, issuer, claims: #"{"repository":"acme/*","ref":"refs/tags/v*"}"#)
            let tag = try await Self.exchange(client, try await issuer.mint(Self.good.merging(["repository": "acme/web", "ref": "refs/tags/v1.2"]) { $1 }))
            #expect(tag.status == 201, "\(tag.body)")
            #expect(try await client.call(.delete, "/v1/peers/\(ex.peer.id)", token: ex.token).status == 204)
            #expect(try await client.call(.get, "/v1/peers/\(ex.peer.id)/config", token: ex.token).status == 401, "the token goes with its peer")

            // Rules are admin's: listed, removed, audited.
            let list = try await client.call(.get, "/v1/ci/trust", token: h.admin)
            #expect(try list.decode(ListResponse<TrustRuleView>.self).items.count == 2)
            #expect(try await client.call(.post, "/v1/ci/trust", token: ex.token, json: "{}").status == 401)
            #expect(try await client.call(.delete, "/v1/ci/trust/\(rule.id)", token: h.admin).status == 204)
            let after = try await Self.exchange(client, try await issuer.mint(Self.good))
            #expect(after.status == 403, "\(after.body)")
        }
    }

    /// A new key at the issuer is picked up without a restart; a flood of tokens with
    /// made-up key ids costs at most one JWKS fetch per refetch interval.
    @Test(.timeLimit(.minutes(4)), arguments: Engine.all)
    func rotationAndRefetchBound(engine: Engine) async throws {
        guard let issuer = TestIssuer.start("OIDC rotation") else { return }
        defer { issuer.stop() }
        let h = try await Self.setUp(issuer, engine: engine, refetch: .seconds(1))
        try await h.withClient { client in
            try await h.seed(client)
            _ = try await Self.addRule(h, client, issuer)
            #expect(try await Self.exchange(client, try await issuer.mint(Self.good)).status == 201)
            try await issuer.rotate(dropOld: true)
            try await Task.sleep(for: .milliseconds(1100))
            let rotated = try await Self.exchange(client, try await issuer.mint(Self.good))
            #expect(rotated.status == 201, "the new kid is fetched: \(rotated.body)")

            let before = try await issuer.stats()["jwks"] ?? 0
            let start = ContinuousClock.now
            var tokens: [String] = []
            for _ in 0..<40 { tokens.append(try await issuer.mint(Self.good, kid: "unknown")) }
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for t in tokens { group.addTask { try await Self.exchange(client, t).status } }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
            let elapsed = ContinuousClock.now - start
            let fetched = (try await issuer.stats()["jwks"] ?? 0) - before
            #expect(statuses.allSatisfy { $0 == 401 })
            let bound = Int(elapsed / .seconds(1)) + 1
            #expect(fetched <= bound, "\(fetched) JWKS fetches for 40 unknown kids in \(elapsed) (bound \(bound))")
            #expect(fetched >= 1, "an unknown kid does trigger a refetch")
        }
    }

    @Test func globs() {
        #expect(ClaimPatterns.glob("acme/*", "acme/api"))
        #expect(ClaimPatterns.glob("acme/*", "acme/"))
        #expect(!ClaimPatterns.glob("acme/*", "acme"))
        #expect(!ClaimPatterns.glob("acme/api", "acme/api2"))
        #expect(ClaimPatterns.glob("*-*-x", "a-b-c-x"))
        #expect(ClaimPatterns.glob("refs/*/main", "refs/heads/main"))
        #expect(!ClaimPatterns.glob("refs/*/main", "refs/heads/maint"))
        #expect(ClaimPatterns.glob("*", ""))
        #expect(!ClaimPatterns.glob("a*a*a*a*a*b", String(repeating: "a", count: 5000)))
    }
}

import FerryCore
import FerryTestSupport
@testable import FerryServer
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

/// `POST /v1/login` with ID tokens from the test issuer: the claim-to-segment mapping, the
/// audience (the login client), single use, and a coordinator without login.
@Suite("OIDC login against the test issuer")
struct OIDCLoginTests {
    @Test(.timeLimit(.minutes(4)), arguments: Engine.all)
    func loginMapsClaimsToSegments(engine: Engine) async throws {
        guard let issuer = TestIssuer.start("OIDC login") else { return }
        defer { issuer.stop() }
        let mapping = try ClaimSegmentMapping.parse(["groups=dev*:developers", "email=*@ops.acme.test:others"])
        let clock = ManualClock(now: Int64(Date().timeIntervalSince1970 * 1000))
        issuer.onMint = { clock.catchUpToRealTime() }
        let h = try await Harness.make(engine: engine, clock: clock) {
            $0.login = LoginConfiguration(issuer: issuer.issuer, clientID: "ferry-cli", mapping: mapping)
        }
        try await h.withClient { client in
            try await h.seed(client)
            let info = try await client.call(.get, "/v1/login", token: nil)
            #expect(try info.decode(LoginInfo.self).issuer == issuer.issuer)
            func login(_ token: String, name: String) async throws -> Reply {
                try await client.call(.post, "/v1/login", token: nil, json: #"{"idToken":"\#(token)","name":"\#(name)","publicKey":"\#(newPublicKey())"}"#)
            }
            // groups is a list claim: one member matching is enough.
            let devToken = try await issuer.control("/test/mint", ["claims": ["email": "alice@acme.test", "groups": ["staff", "developers"]], "aud": "ferry-cli"])["token"] as? String ?? ""
            let r = try await login(devToken, name: "alice-laptop")
            #expect(r.status == 201, "\(r.body)")
            let enrolled = try r.decode(EnrollResponse.self)
            #expect(enrolled.peer.segment == "developers" && enrolled.peer.owner == "alice@acme.test" && enrolled.peer.kind == "device")
            // The device token works like an enrolled device's.
            #expect(try await client.call(.get, "/v1/peers/\(enrolled.peer.id)/netmap", token: enrolled.deviceToken).status == 200)
            let audit = try await client.call(.get, "/v1/audit?peer=\(enrolled.peer.id)", token: h.admin)
            #expect(audit.body.contains("alice@acme.test") && audit.body.contains("login"))

            let replay = try await login(devToken, name: "alice-2")
            #expect(replay.status == 401 && replay.body.contains("already used"), "\(replay.body)")
            let ops = try await login(try await issuer.mint(["email": "bob@ops.acme.test"], aud: "ferry-cli"), name: "bob")
            #expect(ops.status == 201, "\(ops.body)")
            #expect(try ops.decode(EnrollResponse.self).peer.segment == "others")
            let nobody = try await login(try await issuer.mint(["email": "eve@elsewhere.test", "groups": "sales"], aud: "ferry-cli"), name: "eve")
            #expect(nobody.status == 403 && nobody.body.contains("no segment"), "\(nobody.body)")
            let wrongAud = try await login(try await issuer.mint(["email": "alice@acme.test", "groups": "developers"], aud: "ferry"), name: "a3")
            #expect(wrongAud.status == 401 && wrongAud.body.contains("audience"), "\(wrongAud.body)")
        }
        // Without --login-issuer there is no login.
        let plain = try await Harness.make(engine: engine)
        try await plain.withClient { client in
            let info = try await client.call(.get, "/v1/login", token: nil)
            let post = try await client.call(.post, "/v1/login", token: nil, json: "{}")
            #expect(info.status == 404 && post.status == 404)
        }
    }

    @Test func mappingParses() throws {
        let m = try ClaimSegmentMapping.parse(["groups=dev*,email=*@acme.test:developers", "sub=*:guests"])
        #expect(m.entries.count == 2 && m.entries[0].segment == "developers" && m.entries[0].claims.patterns == ["groups": "dev*", "email": "*@acme.test"])
        for bad in ["nocolon", "groups:dev", "=x:seg", "groups=dev:bad segment"] {
            #expect(throws: APIError.self, "\(bad)") { try ClaimSegmentMapping.parse([bad]) }
        }
    }
}

import FerryCore
import FerryTestSupport
@testable import FerryServer
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

/// The portal's sign-in against the real test provider (scripts/oidc/test_issuer.py: the
/// authorization code flow with PKCE), its sessions, and the security rules of its pages
/// and JSON endpoints: CSRF and Origin, another person's cookie, admin pages, escaping.
@Suite("Portal sign-in and security")
struct PortalSignInTests {
    nonisolated(unsafe) static let people: [String: [String: Any]] = [
        "alice": ["email": "alice@acme.test", "groups": ["staff", "developers"]],
        "bob": ["email": "bob@acme.test", "groups": ["dev"]],
        "root": ["email": "root@acme.test", "groups": ["platform"]],
        "eve": ["email": "eve@acme.test", "groups": ["sales"]],
        "mallory": ["email": "<img src=x onerror=alert(1)>\"'@acme.test", "groups": ["dev"]],
    ]

    static func harness(_ issuer: TestIssuer, removed: PortalConfiguration.RemovedDevices = .disable, engine: Engine = .sqlite) async throws -> (Harness, ManualClock) {
        let clock = ManualClock(now: Int64(Date().timeIntervalSince1970 * 1000))
        let portal = try PortalTest.config(issuer, removed: removed)
        try await PortalTest.users(issuer, people)
        return (try await Harness.make(engine: engine, clock: clock) { $0.portal = portal }, clock)
    }

    @Test(.timeLimit(.minutes(3)))
    func signInMapsGroupsToRolesAndSessionsBehave() async throws {
        guard let issuer = TestIssuer.start("portal sign-in") else { return }
        defer { issuer.stop() }
        let (h, clock) = try await Self.harness(issuer)
        try await h.withClient { client in
            try await h.seed(client)
            // The sign-in page: strict CSP and friends on every page.
            let page = try await PortalBrowser().call(client, .get, "/portal/")
            #expect(page.status == 200 && page.body.contains("/portal/login"))
            #expect(page.headers[.contentSecurityPolicy]?.contains("script-src 'self'") == true)
            #expect(page.headers[.contentSecurityPolicy]?.contains("frame-ancestors 'none'") == true)
            #expect(page.headers[HTTPField.Name("X-Content-Type-Options")!] == "nosniff")
            #expect(page.headers[HTTPField.Name("Referrer-Policy")!] == "no-referrer")
            #expect(!page.body.contains("<script>") && !page.body.contains("style="))

            // A developer (groups dev*): a session cookie, HttpOnly and SameSite, in segment developers.
            var alice = PortalBrowser()
            let done = try await PortalTest.signIn(client, &alice, user: "alice", clock: clock)
            #expect(done.status == 303 && done.location == "/portal/devices", "\(done.status) \(done.body)")
            let cookie = done.setCookies.first { $0.hasPrefix("ferry_session=") } ?? ""
            #expect(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && cookie.contains("Path=/"), "\(cookie)")
            let me = try await alice.call(client, .get, "/portal/api/me")
            #expect(me.status == 200 && me.body.contains("\"role\":\"developer\"") && me.body.contains("\"segment\":\"developers\""), "\(me.body)")
            let devicesPage = try await alice.call(client, .get, "/portal/devices")
            #expect(devicesPage.status == 200)
            alice.csrf = PortalTest.csrf(devicesPage.body)
            #expect(alice.csrf != nil)

            // The session is stored hashed: the cookie's value is nowhere in the database.
            let secret = alice.cookies["ferry_session"] ?? "none"
            let stored = try await h.store.engine.read { db in try String.fetchAll(db, sql: "SELECT secret_hash FROM portal_sessions") }
            #expect(!stored.contains(secret) && stored.contains(TokenSecret.hash(secret)))

            // An admin (groups platform); the audit names both sign-ins.
            var root = PortalBrowser()
            let rootDone = try await PortalTest.signIn(client, &root, user: "root", clock: clock)
            #expect(rootDone.location == "/portal/admin")
            #expect(try await root.call(client, .get, "/portal/admin").status == 200)
            let audit = try await client.call(.get, "/v1/audit", token: h.admin)
            #expect(audit.body.contains("user:alice@acme.test") && audit.body.contains("user:root@acme.test") && audit.body.contains("portal.signin"))

            // Nobody's group: refused with a clear page, no session.
            var eve = PortalBrowser()
            let refused = try await PortalTest.signIn(client, &eve, user: "eve", clock: clock)
            #expect(refused.status == 403 && refused.body.contains("not allowed"), "\(refused.body)")
            #expect(eve.cookies["ferry_session"] == nil)

            // Return URL: a local path only (no open redirect).
            var r1 = PortalBrowser()
            let local = try await PortalTest.signIn(client, &r1, user: "bob", clock: clock, returnTo: "/portal/devices?x=1")
            #expect(local.location == "/portal/devices?x=1")
            for evil in ["https://evil.test/", "//evil.test/portal", "/portal/..%2F%2Fevil", "/\\evil.test", "/portalx"] {
                var b = PortalBrowser()
                let r = try await PortalTest.signIn(client, &b, user: "bob", clock: clock, returnTo: evil.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")
                #expect(r.location == "/portal/devices", "\(evil) -> \(r.location ?? "nil")")
            }

            // Sign out: the session ends in the store, the old cookie is worth nothing.
            let kept = alice
            let out = try await alice.call(client, .post, "/portal/logout", form: "csrf=\(alice.csrf ?? "")")
            #expect(out.status == 303)
            #expect(try await kept.call(client, .get, "/portal/api/me").status == 401)

            // An admin revokes a session.
            var bob = PortalBrowser()
            _ = try await PortalTest.signIn(client, &bob, user: "bob", clock: clock)
            #expect(try await bob.call(client, .get, "/portal/api/me").status == 200)
            root.csrf = PortalTest.csrf(try await root.call(client, .get, "/portal/admin").body)
            let sessions = try await root.call(client, .get, "/portal/api/admin/sessions")
            let list = try FerryJSON.decoder().decode(ListResponse<PortalSessionView>.self, from: Data(sessions.body.utf8))
            let bobs = list.items.filter { $0.person == "bob@acme.test" }
            #expect(!bobs.isEmpty)
            for s in bobs { #expect(try await root.call(client, .delete, "/portal/api/admin/sessions/\(s.id)").status == 204) }
            #expect(try await bob.call(client, .get, "/portal/api/me").status == 401)

            // Sessions expire.
            var carol = PortalBrowser()
            _ = try await PortalTest.signIn(client, &carol, user: "bob", clock: clock)
            clock.advance(by: 8 * 3600 * 1000 + 1)
            #expect(try await carol.call(client, .get, "/portal/api/me").status == 401)
        }
    }

    @Test(.timeLimit(.minutes(3)))
    func badTokensStateAndCallbacksAreRefused() async throws {
        guard let issuer = TestIssuer.start("portal bad tokens") else { return }
        defer { issuer.stop() }
        let (h, clock) = try await Self.harness(issuer)
        try await h.withClient { client in
            try await h.seed(client)
            // Each: the next ID token the provider issues is bad; the sign-in fails, no session.
            let cases: [([String: Any], String)] = [
                (["exp_in": -600], "expired"),
                (["tamper": true], "signature"),
                (["aud": "someone-else"], "audience"),
                (["nonce": "another-sign-in"], "nonce"),
            ]
            for (override, why) in cases {
                try await issuer.control("/test/next-id-token", override)
                var b = PortalBrowser()
                let r = try await PortalTest.signIn(client, &b, user: "root", clock: clock)
                #expect(r.status == 401 && r.body.contains(why), "\(why): \(r.status) \(r.body)")
                #expect(b.cookies["ferry_session"] == nil, "\(why)")
            }

            // A replayed state: the callback works once.
            var b = PortalBrowser()
            let start = try await b.call(client, .get, "/portal/login?login_hint=bob")
            b.keep(start)
            let callback = try await PortalTest.authorize(start.location ?? "")
            clock.catchUpToRealTime()
            let first = try await b.call(client, .get, callback)
            #expect(first.status == 303)
            let again = try await b.call(client, .get, callback)
            #expect(again.status == 400 && again.body.contains("already used"), "\(again.body)")

            // A callback in another browser (no login cookie binding the state): refused.
            var attacker = PortalBrowser()
            let s2 = try await attacker.call(client, .get, "/portal/login?login_hint=bob")
            let cb2 = try await PortalTest.authorize(s2.location ?? "")
            var victim = PortalBrowser()
            let forced = try await victim.call(client, .get, cb2)
            #expect(forced.status == 400 && victim.cookies["ferry_session"] == nil, "\(forced.body)")

            // The provider said no (unknown user): a clear page.
            var nobody = PortalBrowser()
            let denied = try await PortalTest.signIn(client, &nobody, user: "nobody", clock: clock)
            #expect(denied.status == 403 && denied.body.contains("access_denied"))

            // The PKCE challenge went out as S256, with state and nonce.
            var c = PortalBrowser()
            let s3 = try await c.call(client, .get, "/portal/login")
            let q = URLComponents(string: s3.location ?? "")?.queryItems ?? []
            for name in ["state", "nonce", "code_challenge"] { #expect(q.contains { $0.name == name && ($0.value?.count ?? 0) >= 43 }, "\(name)") }
            #expect(q.contains { $0.name == "code_challenge_method" && $0.value == "S256" })
            #expect(q.contains { $0.name == "redirect_uri" && $0.value == "http://127.0.0.1:8080/portal/callback" })
        }
    }

    /// On both store engines: the portal's tables (sessions, issued configs) on each.
    @Test(.timeLimit(.minutes(3)), arguments: Engine.all)
    func devicesCSRFOtherPeopleAdminPagesAndEscaping(engine: Engine) async throws {
        guard let issuer = TestIssuer.start("portal devices and CSRF") else { return }
        defer { issuer.stop() }
        let (h, clock) = try await Self.harness(issuer, engine: engine)
        try await h.withClient { client in
            try await h.seed(client)
            var alice = PortalBrowser()
            _ = try await PortalTest.signIn(client, &alice, user: "alice", clock: clock)
            alice.csrf = PortalTest.csrf(try await alice.call(client, .get, "/portal/devices").body)
            let key = newPublicKey()
            let add = #"{"name":"alice-laptop","publicKey":"\#(key)"}"#

            // CSRF: missing, wrong, or another origin: refused, nothing created.
            #expect(try await alice.call(client, .post, "/portal/api/devices", json: add, csrf: .some(nil)).status == 403)
            #expect(try await alice.call(client, .post, "/portal/api/devices", json: add, csrf: "wrong").status == 403)
            #expect(try await alice.call(client, .post, "/portal/api/devices", json: add, origin: "https://evil.test").status == 403)
            #expect(try await client.call(.get, "/v1/peers?owner=alice@acme.test", token: h.admin).body.contains("alice-laptop") == false)

            // Added: owner = the person, segment from the mapping, config without a private key.
            let created = try await alice.call(client, .post, "/portal/api/devices", json: add)
            #expect(created.status == 201, "\(created.body)")
            let device = try FerryJSON.decoder().decode(PortalDeviceCreated.self, from: Data(created.body.utf8))
            #expect(device.peer.owner == "alice@acme.test" && device.peer.segment == "developers" && device.peer.publicKey == key)
            #expect(device.config.contains("# PrivateKey = <") && device.config.contains("AllowedIPs"))
            // A person cannot pick another segment or more than a split tunnel (same validation as the API).
            let other = try await alice.call(client, .post, "/portal/api/devices", json: #"{"name":"x","publicKey":"\#(newPublicKey())","segment":"ci"}"#)
            #expect(other.status == 400 && other.body.contains("segment"), "\(other.body)")

            // Another person's cookie sees and touches only their own devices.
            var bob = PortalBrowser()
            _ = try await PortalTest.signIn(client, &bob, user: "bob", clock: clock)
            bob.csrf = PortalTest.csrf(try await bob.call(client, .get, "/portal/devices").body)
            #expect(!(try await bob.call(client, .get, "/portal/api/devices").body.contains("alice-laptop")))
            #expect(try await bob.call(client, .delete, "/portal/api/devices/\(device.peer.id)").status == 404)
            #expect(try await bob.call(client, .patch, "/portal/api/devices/\(device.peer.id)", json: #"{"name":"mine"}"#).status == 404)
            // Alice's CSRF token with Bob's cookie is no token at all.
            var mixed = bob
            mixed.csrf = alice.csrf
            #expect(try await mixed.call(client, .delete, "/portal/api/devices/\(device.peer.id)").status == 403)

            // The admin pages are refused to a developer.
            #expect(try await alice.call(client, .get, "/portal/admin").status == 403)
            #expect(try await alice.call(client, .get, "/portal/api/admin/peers").status == 403)
            #expect(try await alice.call(client, .post, "/portal/api/admin/segments", json: #"{"name":"mine"}"#).status == 403)
            // Without a session: 401.
            #expect(try await PortalBrowser().call(client, .get, "/portal/api/devices").status == 401)

            // Stale config: the gateway's key changes, the device is marked; a new config clears it.
            #expect(!(try await alice.call(client, .get, "/portal/api/devices").body.contains("\"stale\":true")))
            let gw = try await client.call(.get, "/v1/gateways", token: h.admin).decode(ListResponse<GatewayView>.self).items[0]
            #expect(try await client.call(.post, "/v1/gateways/\(gw.id)/rotate-key", token: h.admin, json: #"{"publicKey":"\#(newPublicKey())"}"#).status == 200)
            #expect(try await alice.call(client, .get, "/portal/api/devices").body.contains("\"stale\":true"))
            #expect(try await alice.call(client, .get, "/portal/devices").body.contains("needs a new config"))
            let rotated = try await alice.call(client, .post, "/portal/api/devices/\(device.peer.id)/rotate-key", json: #"{"publicKey":"\#(newPublicKey())"}"#)
            #expect(rotated.status == 200, "\(rotated.body)")
            #expect(!(try await alice.call(client, .get, "/portal/api/devices").body.contains("\"stale\":true")))
            // Rename and revoke her own.
            #expect(try await alice.call(client, .patch, "/portal/api/devices/\(device.peer.id)", json: #"{"name":"alice-mac"}"#).status == 200)

            // XSS: a person whose name is markup; every page shows it inert.
            var mallory = PortalBrowser()
            _ = try await PortalTest.signIn(client, &mallory, user: "mallory", clock: clock)
            let mp = try await mallory.call(client, .get, "/portal/devices")
            mallory.csrf = PortalTest.csrf(mp.body)
            #expect(!mp.body.contains("<img src=x") && mp.body.contains("&lt;img src=x onerror=alert(1)&gt;&quot;&#39;@acme.test"))
            #expect(try await mallory.call(client, .post, "/portal/api/devices", json: #"{"name":"m1","publicKey":"\#(newPublicKey())"}"#).status == 201)
            var root = PortalBrowser()
            _ = try await PortalTest.signIn(client, &root, user: "root", clock: clock)
            let admin = try await root.call(client, .get, "/portal/admin")
            #expect(admin.status == 200 && !admin.body.contains("<img src=x") && admin.body.contains("&lt;img src=x"))

            // Removed from the group: refused at the next sign-in, sessions end, devices disabled.
            try await PortalTest.users(issuer, Self.people.merging(["alice": ["email": "alice@acme.test", "groups": ["sales"]]]) { $1 })
            var again = PortalBrowser()
            let refused = try await PortalTest.signIn(client, &again, user: "alice", clock: clock)
            #expect(refused.status == 403)
            #expect(try await alice.call(client, .get, "/portal/api/me").status == 401)
            let peer = try await client.call(.get, "/v1/peers/\(device.peer.id)", token: h.admin).decode(PeerView.self)
            #expect(peer.enabled == false)

            // Bob revokes his own device.
            let bobs = try await bob.call(client, .post, "/portal/api/devices", json: #"{"name":"bob-1","publicKey":"\#(newPublicKey())"}"#)
            let bobDevice = try FerryJSON.decoder().decode(PortalDeviceCreated.self, from: Data(bobs.body.utf8))
            #expect(try await bob.call(client, .delete, "/portal/api/devices/\(bobDevice.peer.id)").status == 204)
        }
    }

    @Test func escapingMakesPayloadsInert() {
        let payloads = ["<script>alert(1)</script>", "\"><img src=x onerror=alert(1)>", "'><svg onload=alert(1)>", "&lt;already&gt;", "javascript:alert(1)"]
        for p in payloads {
            let html: HTML = "<td title=\"\(p)\">\(p)</td>"
            let inner = html.text.dropFirst("<td title=\"".count).dropLast("</td>".count)
            #expect(!inner.contains("<") && !inner.contains(">\"") && !inner.contains("\"<"), "\(html.text)")
            #expect(!html.text.contains("<script") && !html.text.contains("<img") && !html.text.contains("<svg"))
        }
        #expect(HTML.escape("a&b<c>d\"e'f") == "a&amp;b&lt;c&gt;d&quot;e&#39;f")
        let nested: HTML = "<p>\(HTML(trusted: "<b>ok</b>"))\("<b>no</b>")</p>"
        #expect(nested.text == "<p><b>ok</b>&lt;b&gt;no&lt;/b&gt;</p>")
    }

    @Test func returnPathsAreLocal() {
        #expect(PortalHTTP.localReturn("/portal/devices") == "/portal/devices")
        #expect(PortalHTTP.localReturn("/portal?x=1") == "/portal?x=1")
        for bad in ["https://evil.test", "//evil.test", "/portal//evil.test", "/portal\\x", "/portalx", "/other", "/portal/\u{7f}", "/portal/../x", "/portal/%2F%2Fevil", "", nil] {
            #expect(PortalHTTP.localReturn(bad) == "/portal/", "\(bad ?? "nil")")
        }
    }
}

/// The admin token's break-glass sign-in, and the policy preview.
@Suite("Portal admin token and policy preview")
struct PortalAdminTests {
    @Test(.timeLimit(.minutes(3)))
    func adminTokenSignsInAndPreviewShowsTheDiff() async throws {
        guard let issuer = TestIssuer.start("portal admin token") else { return }
        defer { issuer.stop() }
        let (h, _) = try await PortalSignInTests.harness(issuer)
        try await h.withClient { client in
            try await h.seed(client)
            let readOnly = try await h.token(client, #"{"name":"ro","scope":"read-only"}"#)
            var b = PortalBrowser()
            // Another site's form, a non-admin token, a wrong token: refused, no session.
            #expect(try await b.call(client, .post, "/portal/login/token", form: "token=\(h.admin)", origin: "https://evil.test").status == 403)
            #expect(try await b.call(client, .post, "/portal/login/token", form: "token=\(readOnly)").status == 403)
            #expect(try await b.call(client, .post, "/portal/login/token", form: "token=ferry_nope").status == 401)
            let r = try await b.call(client, .post, "/portal/login/token", form: "token=\(h.admin)&return=/portal/admin")
            #expect(r.status == 303 && r.location == "/portal/admin", "\(r.body)")
            b.keep(r)
            let me = try await b.call(client, .get, "/portal/api/me")
            #expect(me.body.contains("\"method\":\"admin-token\"") && me.body.contains("\"role\":\"admin\""), "\(me.body)")
            // Audited as the admin token, saying how.
            let audit = try await client.call(.get, "/v1/audit", token: h.admin).decode(ListResponse<AuditEventView>.self).items
            let signin = try #require(audit.last { $0.action == "portal.signin" })
            #expect(signin.actor.hasPrefix("token:tok_") && "\(signin.after ?? .null)".contains("admin-token"))

            // The preview: what a rule adds, and which peers it touches; nothing written.
            b.csrf = PortalTest.csrf(try await b.call(client, .get, "/portal/admin").body)
            let dev = try await h.peer(client, name: "dev1", segment: "developers")
            let ci = try await h.peer(client, name: "ci1", segment: "ci")
            let rulesBefore = try await client.call(.get, "/v1/policy/rules", token: h.admin).body
            let p = try await b.call(client, .post, "/portal/api/admin/policy/preview",
                                     json: #"{"add":{"from":"developers","toSegment":"ci","ports":["tcp/22"]}}"#)
            #expect(p.status == 200, "\(p.body)")
            let preview = try FerryJSON.decoder().decode(PolicyPreview.self, from: Data(p.body.utf8))
            // The ci segment's IPv4 prefix and its mirrored IPv6 one.
            #expect(preview.removed.isEmpty && preview.added.count == 2 && preview.added.allSatisfy { $0.hasPrefix("developers → ") && $0.hasSuffix(" tcp/22") }, "\(preview)")
            #expect(preview.affected.contains { $0.id == dev.id } && preview.affected.contains { $0.id == ci.id }, "\(preview.affected)")
            #expect(try await client.call(.get, "/v1/policy/rules", token: h.admin).body == rulesBefore)
            // Removing the developers' rule: access taken away, developers affected, ci not.
            let rules = try await client.call(.get, "/v1/policy/rules", token: h.admin).decode(ListResponse<PolicyRuleView>.self).items
            let devRule = try #require(rules.first { $0.from == "developers" })
            let q = try await b.call(client, .post, "/portal/api/admin/policy/preview", json: #"{"remove":["\#(devRule.id)"]}"#)
            let removal = try FerryJSON.decoder().decode(PolicyPreview.self, from: Data(q.body.utf8))
            #expect(removal.removed == ["developers → 172.20.0.0/24 all"] && removal.added.isEmpty, "\(removal)")
            #expect(removal.affected.map(\.id) == [dev.id], "\(removal.affected)")
            // Bad proposals are clear errors.
            #expect(try await b.call(client, .post, "/portal/api/admin/policy/preview", json: #"{"add":{"from":"nope","toSegment":"ci"}}"#).status == 400)
            #expect(try await b.call(client, .post, "/portal/api/admin/policy/preview", json: #"{"remove":["rule_nope"]}"#).status == 400)
        }
    }
}

import FerryCore
import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// Sign-in and sign-out: the authorization code flow (start, callback), the admin token's
/// form, and the session a request's cookie names.
struct PortalSignIn: Sendable {
    let config: PortalConfiguration
    let store: FerryStore
    let flow: OIDCCodeFlow
    let verifier: OIDCVerifier
    let logger: Logger

    /// The session of a request, or nil.
    func session(_ request: Request) async throws -> PortalSession? {
        guard let secret = PortalHTTP.cookie(request, PortalHTTP.sessionCookieName(config)), !secret.isEmpty, secret.utf8.count <= 128 else { return nil }
        return try await store.portalSession(secret: secret)
    }

    /// GET /portal/login?return=PATH: a new state, nonce and PKCE verifier (kept in the
    /// store; the state also in a short cookie that binds it to this browser), then off to
    /// the provider.
    func start(_ request: Request) async throws -> Response {
        let state = OIDCCodeFlow.random(), nonce = OIDCCodeFlow.random(), codeVerifier = OIDCCodeFlow.random()
        let returnTo = PortalHTTP.localReturn(request.uri.queryParameters.get("return"))
        let url: URL
        do {
            url = try await flow.authorizationURL(state: state, nonce: nonce, verifier: codeVerifier,
                                                  loginHint: request.uri.queryParameters.get("login_hint"))
        } catch let e as PortalError {
            return PortalHTTP.page(PortalPages.message("Sign-in unavailable", Self.text(e)), status: .badGateway)
        }
        try await store.portalBeginLogin(state: state, nonce: nonce, verifier: codeVerifier, returnTo: returnTo)
        return PortalHTTP.redirect(url.absoluteString,
                                   cookies: [PortalHTTP.setCookie(PortalHTTP.loginCookieName(config), state, maxAge: FerryStore.portalLoginMs / 1000, config: config)])
    }

    /// GET /portal/callback?code&state: the state is taken (once), must match this
    /// browser's cookie, the code is exchanged with the verifier, the ID token verified
    /// (signature, times, audience, nonce), the claims mapped to a role; then a session.
    func callback(_ request: Request) async throws -> Response {
        let q = request.uri.queryParameters
        let clearLogin = PortalHTTP.setCookie(PortalHTTP.loginCookieName(config), "", maxAge: 0, config: config)
        func refuse(_ title: String, _ text: String, _ status: HTTPResponse.Status) -> Response {
            var r = PortalHTTP.page(PortalPages.message(title, text), status: status)
            r.headers.append(HTTPField(name: .setCookie, value: clearLogin))
            return r
        }
        if let error = q.get("error") {
            return refuse("Sign-in refused", "The identity provider refused the sign-in: \(error)", .forbidden)
        }
        guard let state = q.get("state"), let code = q.get("code"), !state.isEmpty, !code.isEmpty, state.utf8.count <= 256, code.utf8.count <= 4096 else {
            return refuse("Sign-in failed", "The identity provider's answer has no code or state.", .badRequest)
        }
        guard let pending = try await store.portalTakeLogin(state: state) else {
            return refuse("Sign-in failed", "This sign-in has expired or was already used. Start again.", .badRequest)
        }
        guard let bound = PortalHTTP.cookie(request, PortalHTTP.loginCookieName(config)), PortalHTTP.constantTimeEqual(bound, state) else {
            return refuse("Sign-in failed", "This sign-in was started in another browser. Start again.", .badRequest)
        }
        let jwt: JWT
        do {
            let idToken = try await flow.exchange(code: code, verifier: pending.verifier)
            jwt = try await verify(idToken, nonce: pending.nonce)
        } catch let e as PortalError {
            logger.info("portal sign-in refused", metadata: ["reason": .string(Self.text(e))])
            return refuse("Sign-in failed", Self.text(e), .unauthorized)
        }
        let person = Self.person(jwt, claim: config.ownerClaim)
        guard let (role, segment) = config.role(for: jwt) else {
            // Removed from the group (or never in one): no session, their sessions end,
            // and their devices are disabled when ferryd is told so.
            let disabled = try await store.portalRemovePerson(person, disableDevices: config.removedDevices == .disable)
            try await store.portalAuditRefused(person: person, reason: "claims map to no portal role; \(disabled) device(s) disabled")
            return refuse("Not allowed", "Your account (\(person)) is not allowed to use this network's portal: its groups map to no role. Ask your admin.", .forbidden)
        }
        let (_, secret) = try await store.portalCreateSession(person: person, subject: jwt.string("sub"), role: role, segment: segment,
                                                            method: "oidc", tokenID: nil, seconds: config.sessionSeconds)
        let target = pending.returnTo == "/portal/" ? (role == .admin ? "/portal/admin" : "/portal/devices") : pending.returnTo
        return PortalHTTP.redirect(target, cookies: [clearLogin, PortalHTTP.setCookie(PortalHTTP.sessionCookieName(config), secret,
                                                                                        maxAge: config.sessionSeconds, config: config)])
    }

    /// The ID token: signature and times (`OIDCVerifier`), audience (the portal's client;
    /// with several audiences `azp` must name it), and the nonce this sign-in sent.
    func verify(_ idToken: String, nonce: String) async throws -> JWT {
        let jwt: JWT
        do throws(OIDCError) {
            jwt = try await verifier.verify(idToken, trusted: { $0 == config.issuer }, nowMs: store.clock.now())
            guard jwt.audiences.contains(config.clientID) else { throw OIDCError.wrongAudience(jwt.audiences) }
        } catch {
            throw PortalError.refused(error.description)
        }
        if jwt.audiences.count > 1, jwt.string("azp") != config.clientID { throw PortalError.refused("the ID token's azp is not this portal") }
        guard let n = jwt.string("nonce"), PortalHTTP.constantTimeEqual(n, nonce) else {
            throw PortalError.refused("the ID token's nonce is not this sign-in's")
        }
        return jwt
    }

    static func person(_ jwt: JWT, claim: String) -> String {
        let raw = jwt.claimText(claim) ?? jwt.string("sub") ?? "unknown"
        return (try? Validate.label(String(raw.prefix(128)), field: "owner")) ?? "oidc"
    }

    static func text(_ e: PortalError) -> String {
        switch e {
        case .provider(let s), .refused(let s), .badRequest(let s): s
        }
    }

    /// POST /portal/login/token (form: token, return): the admin token as a break-glass
    /// sign-in; the session acts as that token and the sign-in is audited under it.
    func tokenSignIn(_ request: Request) async throws -> Response {
        try PortalHTTP.checkOrigin(request, config: config)
        let form = try await PortalHTTP.form(request)
        let returnTo = PortalHTTP.localReturn(form["return"])
        guard config.allowAdminToken else { return PortalHTTP.page(PortalPages.message("Not allowed", "Token sign-in is off."), status: .forbidden) }
        let caller: Caller
        do { caller = try await store.authenticate(Substring(form["token"] ?? "")) } catch let e as APIError {
            return PortalHTTP.page(PortalPages.signIn(issuer: config.issuer, returnTo: returnTo, adminToken: true, message: e.message), status: .unauthorized)
        }
        guard caller.scope == .admin else {
            return PortalHTTP.page(PortalPages.signIn(issuer: config.issuer, returnTo: returnTo, adminToken: true,
                                                      message: "only an admin token signs in here"), status: .forbidden)
        }
        let (_, secret) = try await store.portalCreateSession(person: "token:\(caller.name)", subject: nil, role: .admin, segment: nil,
                                                            method: "admin-token", tokenID: caller.tokenID, seconds: config.sessionSeconds)
        return PortalHTTP.redirect(returnTo == "/portal/" ? "/portal/admin" : returnTo,
                                   cookies: [PortalHTTP.setCookie(PortalHTTP.sessionCookieName(config), secret, maxAge: config.sessionSeconds, config: config)])
    }

    /// POST /portal/logout (form: csrf): the session ends in the store, the cookie goes.
    func signOut(_ request: Request) async throws -> Response {
        let form = try await PortalHTTP.form(request)
        guard let s = try await session(request) else { return PortalHTTP.redirect("/portal/") }
        try PortalHTTP.checkStateChange(request, session: s, formToken: form["csrf"], config: config)
        try await store.portalRevokeSession(id: s.id, caller: s.caller)
        return PortalHTTP.redirect("/portal/", cookies: [PortalHTTP.setCookie(PortalHTTP.sessionCookieName(config), "", maxAge: 0, config: config)])
    }
}

import FerryCore
import Foundation
import HTTPTypes
import Hummingbird

extension RouteTable {
    /// The portal (docs/portal.md): pages and sign-in under /portal, and JSON endpoints
    /// under /portal/api authenticated by the session cookie. Those reuse the store's
    /// service methods with the caller the session stands for, so a person's rights are
    /// checked by the same code as a token's. Without `--portal-issuer` there are no pages
    /// and the JSON endpoints answer 404 (as /v1/login does without a provider).
    func registerPortal(config: PortalConfiguration?, store: FerryStore, verifier: OIDCVerifier, history: TrafficHistory) {
        guard let config else {
            registerPortalAPI(store: store, signIn: nil, history: history)
            return
        }
        let signIn = PortalSignIn(config: config, store: store, flow: OIDCCodeFlow(config: config, verifier: verifier), verifier: verifier,
                                  logger: logger)
        let assets = PortalAssets.load()
        if assets.files.isEmpty { logger.warning("the portal's assets (Ferry_FerryServer.resources/portal) are missing: pages will have no style or scripts; looked in \(FerryResources.searched); set FERRY_RESOURCES to the folder") }
        // `limited`: the sign-in's start and callback write to the store without a session,
        // so they count against the source address's write rate like the API's tokenless writes.
        let page = { (path: RouterPath, limited: Bool, handler: @escaping @Sendable (Request, PortalSession?) async throws -> Response) in
            self.router.get(path) { request, ctx -> Response in
                do {
                    if limited { try self.writeLimiter.admit("source:" + (ctx.channel?.remoteAddress?.ipAddress ?? "unknown")) }
                    return try await handler(request, try await signIn.session(request))
                } catch let e as APIError {
                    return PortalHTTP.page(PortalPages.message("Error", e.message), status: .init(code: e.status))
                } catch let e as TooManyRequests {
                    return PortalHTTP.page(PortalPages.message("Slow down", e.apiError.message), status: .tooManyRequests)
                }
            }
        }
        page("/portal/", false) { request, session in
            guard let session else {
                return PortalHTTP.page(PortalPages.signIn(issuer: config.issuer, returnTo: PortalHTTP.localReturn(request.uri.queryParameters.get("return")),
                                                          adminToken: config.allowAdminToken))
            }
            return PortalHTTP.redirect(session.role == .admin ? "/portal/admin" : "/portal/devices")
        }
        page("/portal/login", true) { request, _ in try await signIn.start(request) }
        page("/portal/callback", true) { request, _ in try await signIn.callback(request) }
        page("/portal/devices", false) { _, session in
            guard let session else { return PortalHTTP.redirect("/portal/?return=/portal/devices") }
            guard session.role == .developer else { return PortalHTTP.redirect("/portal/admin") }
            return PortalHTTP.page(PortalPages.devices(session, try await store.portalDevices(caller: session.caller)))
        }
        page("/portal/admin", false) { _, session in
            guard let session else { return PortalHTTP.redirect("/portal/?return=/portal/admin") }
            guard session.role == .admin else {
                return PortalHTTP.page(PortalPages.message("Not allowed", "The admin pages are for admins."), status: .forbidden)
            }
            return PortalHTTP.page(PortalAdminPages.admin(session, try await PortalAdminPages.Data.load(store)))
        }
        router.get("/portal/static/:file") { _, ctx in assets.response(ctx.parameters.get("file") ?? "") }
        router.get("/portal/static/js/:file") { _, ctx in assets.response("js/" + (ctx.parameters.get("file") ?? "")) }
        let form = { (path: RouterPath, handler: @escaping @Sendable (Request) async throws -> Response) in
            self.router.post(path) { request, ctx -> Response in
                do {
                    try self.writeLimiter.admit("source:" + (ctx.channel?.remoteAddress?.ipAddress ?? "unknown"))
                    return try await handler(request)
                } catch let e as APIError {
                    return PortalHTTP.page(PortalPages.message("Error", e.message), status: .init(code: e.status))
                } catch let e as TooManyRequests {
                    return PortalHTTP.page(PortalPages.message("Slow down", e.apiError.message), status: .tooManyRequests)
                }
            }
        }
        form("/portal/login/token") { try await signIn.tokenSignIn($0) }
        form("/portal/logout") { try await signIn.signOut($0) }
        registerPortalAPI(store: store, signIn: signIn, history: history)
    }

    typealias PortalHandler = @Sendable (Request, FerryContext, PortalSession) async throws -> Response

    /// A JSON endpoint of the portal: the session from the cookie (401 without), admins
    /// only when `admin`, and for every write the Origin and CSRF checks and the session's
    /// write rate. Listed with the API's routes so the OpenAPI test covers it.
    func portal(_ method: HTTPRequest.Method, _ path: String, admin: Bool = false, signIn: PortalSignIn?, _ handler: @escaping PortalHandler) {
        specs.append(RouteSpec(method: method.rawValue, path: path, scopes: nil))
        let hbPath = RouterPath(path.replacingOccurrences(of: "{", with: ":").replacingOccurrences(of: "}", with: ""))
        let isWrite = method != .get && method != .head
        let writeLimiter = self.writeLimiter, logger = self.logger
        router.on(hbPath, method: method) { request, ctx -> Response in
            let response: Response
            do {
                guard let signIn else { throw APIError.notFound("portal: this coordinator has no portal (ferryd --portal-issuer)") }
                let config = signIn.config
                guard let session = try await signIn.session(request) else { throw APIError.unauthorized("sign in to the portal first") }
                if admin, session.role != .admin { throw APIError.forbidden("admins only") }
                if isWrite {
                    try PortalHTTP.checkStateChange(request, session: session, formToken: nil, config: config)
                    try writeLimiter.admit("session:" + session.id)
                }
                response = try await handler(request, ctx, session)
            } catch {
                response = RouteTable.response(for: error, route: path, logger: logger)
            }
            return PortalHTTP.secure(response)
        }
    }
}

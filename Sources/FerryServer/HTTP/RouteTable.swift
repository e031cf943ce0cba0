import FerryCore
import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// One API route: its method, its path as the OpenAPI document writes it
/// (`/v1/peers/{id}`), and the scopes that may call it (nil: no token needed).
public struct RouteSpec: Sendable, Hashable {
    public let method: String
    public let path: String
    public let scopes: Set<Scope>?
}

/// Registers routes on a Hummingbird router and remembers them, so a test can check that
/// every route the router serves is in the OpenAPI document. Each handler gets the
/// authenticated caller; errors become `{"error": {...}}` bodies; every request is
/// counted and timed by route.
final class RouteTable: @unchecked Sendable {
    var specs: [RouteSpec] = []
    let router: Router<FerryContext>
    let store: any FerryService
    let metrics: FerryMetrics
    let logger: Logger
    let connections: ConnectionRegistry
    let longPolls: LongPolls
    let writeLimiter: WriteRateLimiter

    init(router: Router<FerryContext>, services: FerryServices) {
        self.router = router
        self.store = services.store
        self.metrics = services.metrics
        self.logger = services.logger
        self.connections = services.connections
        self.longPolls = services.longPolls
        self.writeLimiter = services.writeLimiter
    }

    typealias Handler = @Sendable (Request, FerryContext, Caller) async throws -> Response

    /// `query`: the query parameters the route takes (as its document lists them); any
    /// other is refused, since the client meant something the route would ignore.
    func add(_ method: HTTPRequest.Method, _ path: String, scopes: Set<Scope>?, query: Set<String> = [], _ handler: @escaping Handler) {
        specs.append(RouteSpec(method: method.rawValue, path: path, scopes: scopes))
        let hbPath = RouterPath(path.replacingOccurrences(of: "{", with: ":").replacingOccurrences(of: "}", with: ""))
        let store = self.store, metrics = self.metrics, logger = self.logger, writeLimiter = self.writeLimiter
        let isWrite = method != .get && method != .head
        router.on(hbPath, method: method) { request, context -> Response in
            let start = ContinuousClock.now
            let response: Response
            do {
                var caller = Caller.anonymous
                if let scopes {
                    caller = try await RouteTable.authenticate(request, store: store)
                    guard scopes.contains(caller.scope) else {
                        throw APIError.forbidden("\(caller.scope == .admin || caller.scope == .enroll ? "an" : "a") \(caller.scope.rawValue) token may not call \(method.rawValue) \(path)")
                    }
                    if isWrite { try writeLimiter.admit(caller.tokenID) }
                } else if isWrite {
                    // Writes without a token (the OIDC exchange, `ferry login`) count per
                    // source address, so nobody can spend ferryd's CPU on signature checks
                    // unboundedly; a caller whose address is unknown shares one bucket.
                    try writeLimiter.admit("source:" + (context.channel?.remoteAddress?.ipAddress ?? "unknown"))
                }
                if let unknown = request.uri.queryParameters.map({ String($0.key) }).sorted().first(where: { !query.contains($0) }) {
                    throw APIError(status: 400, code: "unknown_field", message: "query parameter '\(unknown)' is not one \(method.rawValue) \(path) takes", field: unknown)
                }
                response = try await handler(request, context, caller)
            } catch {
                response = RouteTable.response(for: error, route: path, logger: logger)
            }
            metrics.request(route: path, method: method.rawValue, status: response.status.code, duration: ContinuousClock.now - start)
            return response
        }
    }

    /// The JSON error answer for whatever a handler threw (the portal's JSON endpoints too).
    static func response(for error: any Error, route path: String, logger: Logger) -> Response {
        switch error {
        case let e as APIError: return HTTP.error(e)
        case is CancellationError:
            // A long poll stopped by shutdown mid-read (or by its client, who is gone).
            return HTTP.error(APIError(status: 503, code: "unavailable", message: "ferryd is shutting down; retry"))
        case let e as TooManyRequests:
            var r = HTTP.error(e.apiError)
            r.headers[.retryAfter] = String(e.retryAfterSeconds)
            return r
        default:
            logger.error("request failed", metadata: ["route": .string(path), "error": .string("\(error)")])
            return HTTP.error(APIError(status: 500, code: "internal", message: "internal error"))
        }
    }

    static func authenticate(_ request: Request, store: any FerryService) async throws -> Caller {
        guard let header = request.headers[.authorization] else { throw APIError.unauthorized("missing bearer token") }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { throw APIError.unauthorized("malformed Authorization header") }
        return try await store.authenticate(parts[1])
    }
}

/// Response helpers.
enum HTTP {
    static func json<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok) throws -> Response {
        let data = try FerryJSON.encoder().encode(value)
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    static func text(_ s: String, type: String = "text/plain; charset=utf-8", status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: type], body: .init(byteBuffer: ByteBuffer(string: s)))
    }

    static func empty(_ status: HTTPResponse.Status = .noContent) -> Response {
        Response(status: status)
    }

    static func error(_ e: APIError) -> Response {
        let data = (try? FerryJSON.encoder().encode(ErrorBody(e))) ?? Data()
        var headers: HTTPFields = [.contentType: "application/json"]
        if e.status == 401 { headers[.wwwAuthenticate] = "Bearer" }
        return Response(status: .init(code: e.status), headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// Reads and strictly decodes a JSON body.
    static func body<T: StrictDecodable>(_ type: T.Type, _ request: Request, _ context: FerryContext) async throws -> T {
        let buffer: ByteBuffer
        do { buffer = try await request.body.collect(upTo: context.maxUploadSize) } catch {
            throw APIError(status: 413, code: "too_large", message: "body larger than \(context.maxUploadSize) bytes")
        }
        // Every operation with a body requires one (the document says so); {} is a body.
        guard buffer.readableBytes > 0 else { throw APIError.badRequest("missing_body", "a JSON object body is required (send {} for none)") }
        return try FerryJSON.decodeStrict(T.self, from: Data(buffer.readableBytesView))
    }

    static func query(_ request: Request, _ name: String) -> String? {
        request.uri.queryParameters.get(name)
    }

    static func queryInt(_ request: Request, _ name: String, _ range: ClosedRange<Int64>) throws -> Int64? {
        guard let s = query(request, name) else { return nil }
        guard let v = Int64(s), range.contains(v) else { throw APIError.invalid(name, "must be an integer in \(range.lowerBound)...\(range.upperBound)") }
        return v
    }

    static func queryDate(_ request: Request, _ name: String) throws -> Date? {
        guard let s = query(request, name) else { return nil }
        // RFC 3339 allows fractional seconds; the formatter reads either form only if told.
        let plain = ISO8601DateFormatter(), fractional = ISO8601DateFormatter()
        fractional.formatOptions.insert(.withFractionalSeconds)
        guard let d = plain.date(from: s) ?? fractional.date(from: s) else {
            throw APIError.invalid(name, "must be an RFC 3339 time like 2026-01-01T00:00:00Z or 2026-01-01T00:00:00.5Z")
        }
        return d
    }

    static func id(_ context: FerryContext, _ name: String = "id") throws -> String {
        guard let v = context.parameters.get(name) else { throw APIError.notFound(name) }
        return v
    }
}

import FerryCore
import HTTPTypes
import Hummingbird

/// What the router answers when no route matched: 405 with `Allow` and the JSON error when
/// the path is an API path served under other methods, else 404 with the JSON error (the
/// router's own answer has an empty body, which the document does not describe).
struct UnmatchedRoutes: RouterMiddleware {
    typealias Context = FerryContext
    /// Read at request time: the routes are registered after this middleware.
    let table: RouteTable

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let e as HTTPError where e.status == .notFound {
            let allowed = Self.methods(for: request.uri.path, in: table.specs)
            guard !allowed.isEmpty else { return HTTP.error(APIError.notFound("\(request.uri.path)")) }
            var response = HTTP.error(APIError(status: 405, code: "method_not_allowed",
                                               message: "\(request.method.rawValue) is not allowed on \(request.uri.path); allowed: \(allowed.joined(separator: ", "))"))
            response.headers[.allow] = allowed.joined(separator: ", ")
            return response
        }
    }

    /// The methods of the routes whose path pattern (`/v1/peers/{id}`) matches `path`.
    static func methods(for path: String, in specs: [RouteSpec]) -> [String] {
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        let matching = specs.filter { spec in
            let pattern = spec.path.split(separator: "/", omittingEmptySubsequences: false)
            return pattern.count == parts.count && zip(pattern, parts).allSatisfy { p, s in
                (p.hasPrefix("{") && p.hasSuffix("}") && !s.isEmpty) || p == s
            }
        }
        var seen = Set<String>()
        return matching.map(\.method).filter { seen.insert($0).inserted }.sorted()
    }
}

import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// GETs a small JSON document from an issuer (discovery, JWKS). A protocol so the
/// verifier's caching can be driven without a network in unit tests.
public protocol OIDCFetching: Sendable {
    func get(_ url: URL) async throws(OIDCError) -> Data
}

/// URLSession (libcurl on Linux, the system's CA store): ferryd only ever GETs public
/// documents here, with a short timeout and a size cap, never following a redirect off https.
public struct URLSessionOIDCFetcher: OIDCFetching {
    public static let maxBytes = 512 * 1024
    let session: URLSession

    public init(timeoutSeconds: Double = 5) {
        let c = URLSessionConfiguration.ephemeral
        c.timeoutIntervalForRequest = timeoutSeconds
        c.timeoutIntervalForResource = timeoutSeconds
        c.requestCachePolicy = .reloadIgnoringLocalCacheData
        session = URLSession(configuration: c)
    }

    public func get(_ url: URL) async throws(OIDCError) -> Data {
        guard IssuerURL.isAcceptable(url) else { throw .issuerUnavailable("\(url) is not https (http only on loopback)") }
        let data: Data, response: URLResponse
        do { (data, response) = try await session.data(from: url) } catch {
            throw .issuerUnavailable("GET \(url): \(error.localizedDescription)")
        }
        guard let http = response as? HTTPURLResponse, http.statusCode == 200 else {
            throw .issuerUnavailable("GET \(url) answered \((response as? HTTPURLResponse)?.statusCode ?? 0)")
        }
        guard data.count <= URLSessionOIDCFetcher.maxBytes else { throw .issuerUnavailable("GET \(url): larger than \(URLSessionOIDCFetcher.maxBytes) bytes") }
        return data
    }
}

/// Issuers are https; plain http only on loopback (a test issuer, or one behind a local proxy).
public enum IssuerURL {
    public static func isAcceptable(_ url: URL) -> Bool {
        switch url.scheme?.lowercased() {
        case "https": return url.host != nil
        case "http": return ["127.0.0.1", "localhost", "::1", "[::1]"].contains(url.host ?? "")
        default: return false
        }
    }

    /// The discovery document's address (OpenID Connect Discovery 1.0 §4).
    static func discovery(_ issuer: String) -> URL? {
        var base = issuer
        while base.hasSuffix("/") { base.removeLast() }
        return URL(string: base + "/.well-known/openid-configuration")
    }
}

import FerryCore
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL

/// The coordinator's API over HTTP(S): bearer token, FerryCore's JSON types, errors from
/// `{"error":{...}}` turned into one-line `FerryError`s, timeouts on every request, and TLS
/// that trusts exactly the pinned certificate when there is one.
///
/// The transport is `HTTPTransport` (SwiftNIO, one request per connection, TLS pinned in
/// swift-nio-ssl's verification callback).
public final class CoordinatorClient: Sendable {
    public let baseURL: String
    let token: String?
    let transport: HTTPTransport
    let basePath: String
    /// Seconds a request may take (a long poll adds its wait to this).
    public let timeout: Int64

    /// `socketMark`: SO_MARK on every connection (the agent's, see `HTTPTransport`).
    public init(url: String, token: String?, pinnedCertificatePEM: String? = nil, timeout: Int64 = 15,
                socketMark: UInt32? = nil) throws(FerryError) {
        var base = url
        while base.hasSuffix("/") { base.removeLast() }
        guard let parsed = URL(string: base), let scheme = parsed.scheme, ["http", "https"].contains(scheme), parsed.host != nil else {
            throw FerryError(.failure, "'\(url)' is not a coordinator URL; give one like https://gw.example.com:8443")
        }
        baseURL = base
        basePath = parsed.path
        self.token = token
        self.timeout = timeout
        var fingerprint: String?
        if let pinnedCertificatePEM {
            do {
                guard let cert = try NIOSSLCertificate.fromPEMBytes(Array(pinnedCertificatePEM.utf8)).first else { throw NIOSSLError.failedToLoadCertificate }
                fingerprint = CertificatePin.fingerprint(der: try cert.toDERBytes())
            } catch {
                throw .state("the pinned certificate cannot be read (\(error)); run 'ferry join' again with --fingerprint")
            }
        }
        do { transport = try HTTPTransport(url: parsed, pinnedFingerprint: fingerprint, socketMark: socketMark) } catch {
            throw .failure("cannot set up TLS: \(error)")
        }
    }

    // MARK: requests

    /// One raw exchange: the status and body. Throws `.unreachable` when there is no answer.
    public func exchange(_ method: HTTPMethod, _ path: String, query: [(String, String)] = [], body: Data? = nil,
                         extraSeconds: Int64 = 0) async throws(FerryError) -> (status: Int, body: Data) {
        var headers = [("Accept", "application/json")]
        if let token { headers.append(("Authorization", "Bearer \(token)")) }
        if body != nil { headers.append(("Content-Type", "application/json")) }
        do {
            return try await transport.exchange(method: method, target: basePath + path + Self.queryString(query), headers: headers,
                                                body: body, timeout: .seconds(timeout + extraSeconds))
        } catch {
            if transport.pinnedFingerprint == nil, transport.scheme == "https", Self.isTLSError(error),
               let der = try? await CertificatePin.peek(url: baseURL, timeoutSeconds: 5) {
                let fp = CertificatePin.fingerprint(der: der)
                throw FerryError(.unreachable, "the coordinator's certificate is not trusted; its fingerprint is \(fp); verify it with the admin and run again with --fingerprint \(fp)")
            }
            throw Self.transportError(error, url: baseURL)
        }
    }

    /// A request whose answer must be 2xx and decode as `Response`.
    public func call<Response: Decodable>(_ method: HTTPMethod, _ path: String, query: [(String, String)] = [],
                                          body: (any Encodable)? = nil, as: Response.Type = Response.self) async throws(FerryError) -> Response {
        let (status, data) = try await exchange(method, path, query: query, body: try Self.encode(body))
        try Self.check(status, data)
        do {
            return try FerryJSON.decoder().decode(Response.self, from: data)
        } catch {
            throw .failure("the coordinator's answer to \(method) \(path) could not be read (\(error)); is \(baseURL) a ferryd of this version?")
        }
    }

    /// A request whose answer must be 2xx; the body is ignored.
    public func send(_ method: HTTPMethod, _ path: String, body: (any Encodable)? = nil) async throws(FerryError) {
        let (status, data) = try await exchange(method, path, body: try Self.encode(body))
        try Self.check(status, data)
    }

    /// A text resource (a wg-quick config, a QR code).
    public func text(_ path: String, query: [(String, String)] = []) async throws(FerryError) -> Data {
        let (status, data) = try await exchange(.GET, path, query: query)
        try Self.check(status, data)
        return data
    }

    // MARK: the agent's calls

    public func enroll(_ request: EnrollRequest) async throws(FerryError) -> EnrollResponse {
        try await call(.POST, "/v1/enroll", body: request)
    }

    /// The peer's map; with `since`, waits up to `wait` seconds for a map whose version
    /// differs and returns nil when none came (304).
    public func netmap(peerID: String, since: Int64? = nil, wait: Int = 0) async throws(FerryError) -> NetworkMap? {
        var query: [(String, String)] = []
        if let since { query = [("since", String(since)), ("wait", String(wait))] }
        let (status, data) = try await exchange(.GET, "/v1/peers/\(Self.escape(peerID))/netmap", query: query,
                                                extraSeconds: Int64(wait))
        if status == 304 { return nil }
        try Self.check(status, data)
        do { return try FerryJSON.decoder().decode(NetworkMap.self, from: data) } catch {
            throw .failure("the coordinator's network map could not be read (\(error))")
        }
    }

    public func report(peerID: String, _ report: ReportRequest) async throws(FerryError) {
        try await send(.POST, "/v1/peers/\(Self.escape(peerID))/report", body: report)
    }

    // MARK: helpers

    static func encode(_ body: (any Encodable)?) throws(FerryError) -> Data? {
        guard let body else { return nil }
        do { return try FerryJSON.encoder().encode(body) } catch { throw .failure("cannot encode the request: \(error)") }
    }

    /// Turns a non-2xx answer into a one-line error that says what to do.
    static func check(_ status: Int, _ data: Data) throws(FerryError) {
        guard !(200..<300).contains(status) else { return }
        let detail = (try? JSONDecoder().decode(ErrorBody.self, from: data)).map(\.error)
        let message = detail?.message ?? (String(decoding: data.prefix(200), as: UTF8.self)
            .split(separator: "\n").first.map(String.init) ?? "HTTP \(status)")
        switch status {
        case 401 where detail?.code == "peer_removed":
            throw FerryError(.removed, "this machine was removed from the network: \(message); 'ferry leave' forgets it here, then 'ferry join' with a new enrolment token from your admin")
        case 401:
            throw FerryError(.unauthorized, "the coordinator refused the token (\(message)); check the token you gave, or ask your admin for a new one")
        case 403:
            throw FerryError(.unauthorized, "not allowed: \(message); this needs a token with more rights")
        case 404:
            throw FerryError(.notFound, "\(message); check the name or id")
        case 429:
            throw FerryError(.rejected, "the coordinator is limiting this token's requests: \(message); wait and run again, or ask the admin about ferryd's --write-rate")
        case 400, 409, 413, 422:
            throw FerryError(.rejected, "the coordinator refused the request: \(message)")
        default:
            throw FerryError(.failure, "the coordinator failed (HTTP \(status)): \(message); see ferryd's log")
        }
    }

    static func isTLSError(_ error: any Error) -> Bool {
        let text = String(describing: error), type = String(describing: Swift.type(of: error))
        return type.contains("SSL") || text.contains("SSL") || text.contains("certificate")
    }

    static func transportError(_ error: any Error, url: String) -> FerryError {
        if let e = error as? FerryError { return e }
        let text = String(describing: error)
        if isTLSError(error) {
            return FerryError(.unreachable, "TLS with \(url) failed (\(text)): the certificate is not the one pinned or trusted; if it changed, join again with the new --fingerprint")
        }
        if error is HTTPTransport.Timeout || text.contains("connectTimeout") {
            return FerryError(.unreachable, "the coordinator at \(url) did not answer in time; check the network and that ferryd runs")
        }
        return FerryError(.unreachable, "cannot reach the coordinator at \(url) (\(text)); check the URL, the network and that ferryd runs")
    }

    static func queryString(_ query: [(String, String)]) -> String {
        guard !query.isEmpty else { return "" }
        return "?" + query.map { "\(escape($0.0))=\(escape($0.1))" }.joined(separator: "&")
    }

    /// Percent-encodes everything but RFC 3986's unreserved characters.
    public static func escape(_ s: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return s.addingPercentEncoding(withAllowedCharacters: allowed) ?? s
    }
}

import FerryCore
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL
import Synchronization

/// The coordinator's API over HTTP(S): bearer token, FerryCore's JSON types, errors from
/// `{"error":{...}}` turned into one-line `FerryError`s, timeouts on every request, and TLS
/// that trusts exactly the pinned certificate when there is one.
///
/// The transport is `HTTPTransport` (SwiftNIO, one request per connection, TLS pinned in
/// swift-nio-ssl's verification callback).
public final class CoordinatorClient: Sendable {
    /// One coordinator URL with its own transport (and pin).
    struct Coordinator: Sendable {
        let baseURL: String
        let basePath: String
        let transport: HTTPTransport
    }

    /// Every coordinator this client may ask, in the order given (several replicas of one
    /// network, docs/ferry.md "Several coordinators"); requests go to `preferred`, the one
    /// that last answered, and move on to the next when it does not answer.
    let coordinators: [Coordinator]
    private let preferred = Atomic<Int>(0)
    let token: String?
    /// Seconds a request may take (a long poll adds its wait to this).
    public let timeout: Int64

    /// The coordinator requests go to now.
    var current: Coordinator { coordinators[min(max(preferred.load(ordering: .relaxed), 0), coordinators.count - 1)] }
    public var baseURL: String { current.baseURL }
    var basePath: String { current.basePath }
    var transport: HTTPTransport { current.transport }
    /// Every URL, in order.
    public var urls: [String] { coordinators.map(\.baseURL) }

    /// `socketMark`: SO_MARK on every connection (the agent's, see `HTTPTransport`).
    public convenience init(url: String, token: String?, pinnedCertificatePEM: String? = nil, timeout: Int64 = 15,
                            socketMark: UInt32? = nil) throws(FerryError) {
        try self.init(coordinators: [(url, pinnedCertificatePEM)], token: token, timeout: timeout, socketMark: socketMark)
    }

    /// A client of several coordinators of one network, each with its own pinned
    /// certificate (or none). With more than one, connections give up sooner (connect in
    /// 2 s, TCP keepalive noticing a silent peer in about 4 s, and nothing heard for
    /// `stallSeconds` once connected: long polls ask for heartbeats), so a coordinator that
    /// stops answering, even one that hangs in the middle of a long poll, is left within 5 s.
    public init(coordinators list: [(url: String, pinnedCertificatePEM: String?)], token: String?, timeout: Int64 = 15,
                socketMark: UInt32? = nil) throws(FerryError) {
        guard !list.isEmpty else { throw FerryError(.failure, "no coordinator URL given") }
        var built: [Coordinator] = []
        for (url, pem) in list {
            var base = url
            while base.hasSuffix("/") { base.removeLast() }
            guard let parsed = URL(string: base), let scheme = parsed.scheme, ["http", "https"].contains(scheme), parsed.host != nil else {
                throw FerryError(.failure, "'\(url)' is not a coordinator URL; give one like https://gw.example.com:8443")
            }
            var fingerprint: String?
            if let pem {
                do {
                    guard let cert = try NIOSSLCertificate.fromPEMBytes(Array(pem.utf8)).first else { throw NIOSSLError.failedToLoadCertificate }
                    fingerprint = CertificatePin.fingerprint(der: try cert.toDERBytes())
                } catch {
                    throw .state("the pinned certificate of \(base) cannot be read (\(error)); run 'ferry join' again with --fingerprint")
                }
            }
            let failFast = list.count > 1
            do {
                let transport = try HTTPTransport(url: parsed, pinnedFingerprint: fingerprint, socketMark: socketMark,
                                                  connectTimeout: .seconds(failFast ? 2 : 5), keepaliveProbe: failFast,
                                                  stallTimeout: failFast ? .seconds(Self.stallSeconds) : nil)
                built.append(Coordinator(baseURL: base, basePath: parsed.path, transport: transport))
            } catch {
                throw .failure("cannot set up TLS: \(error)")
            }
        }
        coordinators = built
        self.token = token
        self.timeout = timeout
    }

    // MARK: requests

    /// One raw exchange: the status and body. Throws `.unreachable` when there is no answer.
    /// With several coordinators: the preferred one first, then the others in order; the
    /// first that answers (with anything but 502, 503 or 504) becomes the preferred one.
    /// `within`: a limit for each coordinator asked instead of `timeout` (a heartbeat).
    public func exchange(_ method: HTTPMethod, _ path: String, query: [(String, String)] = [], body: Data? = nil,
                         extraSeconds: Int64 = 0, within: Duration? = nil) async throws(FerryError) -> (status: Int, body: Data) {
        let start = preferred.load(ordering: .relaxed)
        var last: Result<(status: Int, body: Data), FerryError> = .failure(FerryError(.unreachable, "no coordinator"))
        for step in 0..<coordinators.count {
            let index = (start + step) % coordinators.count
            do throws(FerryError) {
                let answer = try await exchange(coordinators[index], method, path, query: query, body: body, extraSeconds: extraSeconds,
                                                within: within)
                last = .success(answer)
                if coordinators.count > 1, [502, 503, 504].contains(answer.status) { continue }
                if index != start { preferred.store(index, ordering: .relaxed) }
                return answer
            } catch {
                guard error.kind == .unreachable, !Task.isCancelled else { throw error }
                last = .failure(error)
            }
        }
        return try last.get()
    }

    /// With several coordinators: the longest a coordinator may stay silent once connected
    /// (before its TLS handshake, its answer's head, or between two heartbeats of a long
    /// poll), for reads; a write (an enrolment, a report) is not repeated elsewhere for a
    /// silence, only when it fails or times out.
    static let stallSeconds: Int64 = 3

    private func exchange(_ c: Coordinator, _ method: HTTPMethod, _ path: String, query: [(String, String)], body: Data?,
                          extraSeconds: Int64, within: Duration?) async throws(FerryError) -> (status: Int, body: Data) {
        var headers = [("Accept", "application/json")]
        // A wait longer than the silence allowed: ferryd sends a newline a second meanwhile
        // (docs/ferryd.md, "Long polls with heartbeats").
        if c.transport.stallTimeout != nil, extraSeconds > 0 { headers.append(("Prefer", "heartbeat")) }
        if let token { headers.append(("Authorization", "Bearer \(token)")) }
        if body != nil { headers.append(("Content-Type", "application/json")) }
        do {
            return try await c.transport.exchange(method: method, target: c.basePath + path + Self.queryString(query), headers: headers,
                                                  body: body,
                                                  timeout: within.map { .nanoseconds(Int64($0 / .nanoseconds(1))) } ?? .seconds(timeout + extraSeconds),
                                                  watchSilence: method == .GET || method == .HEAD)
        } catch {
            if c.transport.pinnedFingerprint == nil, c.transport.scheme == "https", Self.isTLSError(error),
               let der = try? await CertificatePin.peek(url: c.baseURL, timeoutSeconds: 5) {
                let fp = CertificatePin.fingerprint(der: der)
                throw FerryError(.unreachable, "the coordinator's certificate is not trusted; its fingerprint is \(fp); verify it with the admin and run again with --fingerprint \(fp)")
            }
            throw Self.transportError(error, url: c.baseURL)
        }
    }

    /// A request whose answer must be 2xx and decode as `Response`.
    public func call<Response: Decodable>(_ method: HTTPMethod, _ path: String, query: [(String, String)] = [],
                                          body: (any Encodable)? = nil, as: Response.Type = Response.self,
                                          within: Duration? = nil) async throws(FerryError) -> Response {
        let (status, data) = try await exchange(method, path, query: query, body: try Self.encode(body), within: within)
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
    /// `interface`: a gateway's map, its firewall rendered for this interface (`ferryd gateway`).
    public func netmap(peerID: String, since: Int64? = nil, wait: Int = 0, interface: String? = nil) async throws(FerryError) -> NetworkMap? {
        var query: [(String, String)] = []
        if let since { query = [("since", String(since)), ("wait", String(wait))] }
        if let interface { query.append(("interface", interface)) }
        let (status, data) = try await exchange(.GET, "/v1/peers/\(Self.escape(peerID))/netmap", query: query,
                                                extraSeconds: Int64(wait))
        // No change: 304, or (with heartbeats) a 200 whose body is only the newlines.
        if status == 304 || (status == 200 && data.allSatisfy { [0x0A, 0x0D, 0x20, 0x09].contains($0) }) { return nil }
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

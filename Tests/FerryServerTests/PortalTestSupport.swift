import FerryCore
import FerryTestSupport
@testable import FerryServer
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

/// A portal answer: status, headers, body.
struct PortalReply: Sendable {
    var status: Int
    var headers: HTTPFields
    var body: String
    var location: String? { headers[.location] }
    var setCookies: [String] { headers[values: .setCookie] }

    /// The value a Set-Cookie of this answer gives `name`.
    func cookie(_ name: String) -> String? {
        for c in setCookies where c.hasPrefix(name + "=") {
            return String(c.dropFirst(name.count + 1).prefix { $0 != ";" })
        }
        return nil
    }
}

/// A browser's cookie jar and CSRF token, in miniature, over Hummingbird's test client.
struct PortalBrowser: Sendable {
    var cookies: [String: String] = [:]
    var csrf: String?
    var origin = "http://127.0.0.1:8080"

    func call(_ client: any TestClientProtocol, _ method: HTTPRequest.Method, _ path: String, json: String? = nil, form: String? = nil,
              csrf: String?? = nil, origin: String?? = nil) async throws -> PortalReply {
        var headers: HTTPFields = [:]
        if !cookies.isEmpty { headers[.cookie] = cookies.map { "\($0)=\($1)" }.sorted().joined(separator: "; ") }
        if method != .get {
            if let o = origin ?? self.origin { headers[.origin] = o }
            if let t = csrf ?? self.csrf, let n = HTTPField.Name("X-CSRF-Token") { headers[n] = t }
        }
        var body: ByteBuffer?
        if let json { headers[.contentType] = "application/json"; body = ByteBuffer(string: json) }
        if let form { headers[.contentType] = "application/x-www-form-urlencoded"; body = ByteBuffer(string: form) }
        return try await client.execute(uri: path, method: method, headers: headers, body: body) { r in
            PortalReply(status: Int(r.status.code), headers: r.headers, body: String(buffer: r.body))
        }
    }

    mutating func keep(_ r: PortalReply) {
        for c in r.setCookies {
            guard let eq = c.firstIndex(of: "=") else { continue }
            let name = String(c[..<eq]), value = String(c[c.index(after: eq)...].prefix { $0 != ";" })
            if value.isEmpty || c.contains("Max-Age=0") { cookies[name] = nil } else { cookies[name] = value }
        }
    }
}

/// Follows nothing: the issuer's authorization endpoint answers a redirect the test reads.
final class NoRedirects: NSObject, URLSessionTaskDelegate, Sendable {
    func urlSession(_ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
                    newRequest request: URLRequest, completionHandler: @escaping (URLRequest?) -> Void) {
        completionHandler(nil)
    }
}

enum PortalTest {
    static let secret = "portal-secret"

    static func config(_ issuer: TestIssuer, removed: PortalConfiguration.RemovedDevices = .disable) throws -> PortalConfiguration {
        PortalConfiguration(issuer: issuer.issuer, clientID: "ferry-portal", clientSecret: secret,
                            portalURL: URL(string: "http://127.0.0.1:8080") ?? URL(fileURLWithPath: "/"),
                            admins: try PortalConfiguration.parseAdmins(["groups=platform"]),
                            developers: try ClaimSegmentMapping.parse(["groups=dev*:developers"]), removedDevices: removed)
    }

    static func users(_ issuer: TestIssuer, _ users: [String: [String: Any]]) async throws {
        try await issuer.control("/test/users", ["users": users])
    }

    /// The whole sign-in as a browser makes it: the portal's redirect to the provider, the
    /// provider's redirect back (approved for `user`), the callback. Returns the callback's
    /// answer (the browser keeps its cookies).
    static func signIn(_ client: any TestClientProtocol, _ browser: inout PortalBrowser, user: String, clock: ManualClock,
                       returnTo: String? = nil) async throws -> PortalReply {
        let start = try await browser.call(client, .get, "/portal/login?login_hint=\(user)" + (returnTo.map { "&return=" + $0 } ?? ""))
        #expect(start.status == 303, "\(start.body)")
        browser.keep(start)
        let callback = try await authorize(start.location ?? "")
        clock.catchUpToRealTime()
        let done = try await browser.call(client, .get, callback)
        browser.keep(done)
        return done
    }

    /// The provider's answer to the authorization request: the callback path and query.
    static func authorize(_ location: String) async throws -> String {
        guard let url = URL(string: location) else { throw RawHTTP.Failure(description: "no authorization URL: \(location)") }
        let session = URLSession(configuration: .ephemeral, delegate: NoRedirects(), delegateQueue: nil)
        let (_, response) = try await session.data(from: url)
        guard let to = (response as? HTTPURLResponse)?.value(forHTTPHeaderField: "Location"), let back = URLComponents(string: to) else {
            throw RawHTTP.Failure(description: "the provider did not redirect back")
        }
        return back.path + (back.percentEncodedQuery.map { "?" + $0 } ?? "")
    }

    /// The CSRF token a page carries (`<meta name="ferry-csrf" content="...">`).
    static func csrf(_ page: String) -> String? {
        guard let r = page.range(of: "name=\"ferry-csrf\" content=\"") else { return nil }
        return String(page[r.upperBound...].prefix { $0 != "\"" })
    }
}

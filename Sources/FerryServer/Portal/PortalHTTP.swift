import FerryCore
import Foundation
import HTTPTypes
import Hummingbird

/// The portal's HTTP rules in one place: security headers on every answer, cookies, the
/// CSRF and Origin checks of state changes, the return URL, form bodies.
enum PortalHTTP {
    /// No inline script or style, nothing from elsewhere, no framing, no plugins.
    static let csp = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; "
        + "object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    static let csrfHeader = HTTPField.Name("X-CSRF-Token")
    static let secFetchSite = HTTPField.Name("Sec-Fetch-Site")
    static let xContentTypeOptions = HTTPField.Name("X-Content-Type-Options")
    static let referrerPolicy = HTTPField.Name("Referrer-Policy")
    static let frameOptions = HTTPField.Name("X-Frame-Options")
    static let openerPolicy = HTTPField.Name("Cross-Origin-Opener-Policy")

    static func secure(_ response: Response) -> Response {
        var r = response
        r.headers[.contentSecurityPolicy] = csp
        if let n = xContentTypeOptions { r.headers[n] = "nosniff" }
        // The callback's URL holds the code: never sent on as a Referer.
        if let n = referrerPolicy { r.headers[n] = "no-referrer" }
        if let n = frameOptions { r.headers[n] = "DENY" }
        if let n = openerPolicy { r.headers[n] = "same-origin" }
        if r.headers[.cacheControl] == nil { r.headers[.cacheControl] = "no-store" }
        return r
    }

    static func page(_ html: HTML, status: HTTPResponse.Status = .ok) -> Response {
        secure(Response(status: status, headers: [.contentType: "text/html; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: html.text))))
    }

    static func redirect(_ location: String, cookies: [String] = []) -> Response {
        var r = Response(status: .seeOther, headers: [.location: location])
        for c in cookies { r.headers.append(HTTPField(name: .setCookie, value: c)) }
        return secure(r)
    }

    // MARK: Cookies

    static func sessionCookieName(_ config: PortalConfiguration) -> String { config.secure ? "__Host-ferry_session" : "ferry_session" }
    static func loginCookieName(_ config: PortalConfiguration) -> String { config.secure ? "__Host-ferry_login" : "ferry_login" }

    /// HttpOnly, SameSite=Lax (the session must survive the provider's redirect back, a
    /// cross-site top-level navigation; state changes carry the CSRF token and Origin),
    /// Secure and `__Host-` under TLS, Path=/, no Domain.
    static func setCookie(_ name: String, _ value: String, maxAge: Int64, config: PortalConfiguration) -> String {
        "\(name)=\(value); Path=/; Max-Age=\(maxAge); HttpOnly; SameSite=Lax\(config.secure ? "; Secure" : "")"
    }

    static func cookie(_ request: Request, _ name: String) -> String? {
        for field in request.headers[values: .cookie] {
            for part in field.split(separator: ";") {
                let kv = part.trimmingCharacters(in: .whitespaces)
                guard let eq = kv.firstIndex(of: "=") else { continue }
                if kv[..<eq] == name { return String(kv[kv.index(after: eq)...]) }
            }
        }
        return nil
    }

    // MARK: Checks

    /// A state change must come from the portal's own pages: not from another site
    /// (Origin, or Sec-Fetch-Site when Origin is absent), and with the session's CSRF
    /// token (header or form field), compared in constant time.
    static func checkStateChange(_ request: Request, session: PortalSession?, formToken: String?, config: PortalConfiguration) throws(APIError) {
        try checkOrigin(request, config: config)
        guard let session else { return }
        let given = csrfHeader.flatMap { request.headers[$0] } ?? formToken
        guard let given, constantTimeEqual(given, session.csrf) else {
            throw APIError(status: 403, code: "csrf", message: "missing or wrong CSRF token: reload the page")
        }
    }

    static func checkOrigin(_ request: Request, config: PortalConfiguration) throws(APIError) {
        if let origin = request.headers[.origin] {
            guard origin == config.origin else { throw APIError(status: 403, code: "csrf", message: "cross-origin request refused (Origin \(origin))") }
        } else if let n = secFetchSite, let site = request.headers[n], site != "same-origin", site != "none" {
            throw APIError(status: 403, code: "csrf", message: "cross-site request refused")
        }
    }

    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        var diff: UInt8 = 0
        for i in 0..<x.count { diff |= x[i] ^ y[i] }
        return diff == 0
    }

    /// Only a path of the portal itself: no scheme, no host, no `//` or `\` (which browsers
    /// read as another host), no `..` or percent-escapes (nothing to decode into either),
    /// printable ASCII. Anything else is the portal's start page.
    static func localReturn(_ s: String?) -> String {
        guard let s, s.hasPrefix("/portal"), s.utf8.count <= 512, !s.contains("//"), !s.contains("\\"), !s.contains(".."), !s.contains("%"),
              s.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f }) else { return "/portal/" }
        let rest = s.dropFirst("/portal".count)
        guard rest.isEmpty || rest.hasPrefix("/") || rest.hasPrefix("?") else { return "/portal/" }
        return s
    }

    /// An application/x-www-form-urlencoded body (small: a token, a return path, a CSRF token).
    static func form(_ request: Request) async throws -> [String: String] {
        let buffer: ByteBuffer
        do { buffer = try await request.body.collect(upTo: 16 * 1024) } catch {
            throw APIError(status: 413, code: "too_large", message: "form larger than 16 KiB")
        }
        var out: [String: String] = [:]
        for pair in String(decoding: buffer.readableBytesView, as: UTF8.self).split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ s: Substring) -> String { s.replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? "" }
            guard let k = kv.first else { continue }
            out[decode(k)] = kv.count > 1 ? decode(kv[1]) : ""
        }
        return out
    }
}

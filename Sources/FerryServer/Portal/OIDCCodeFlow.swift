import Crypto
import FerryCore
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The portal's side of the OpenID Connect authorization code flow with PKCE (RFC 7636,
/// S256), `state` and `nonce`: the address the browser is sent to, and the code's exchange
/// at the token endpoint (a confidential client: HTTP Basic with the client secret). The
/// ID token it gets is verified by `OIDCVerifier` (signature by the issuer's JWKS, times)
/// and then by the caller (audience, nonce).
struct OIDCCodeFlow: Sendable {
    let config: PortalConfiguration
    let verifier: OIDCVerifier
    let session: URLSession

    init(config: PortalConfiguration, verifier: OIDCVerifier) {
        self.config = config
        self.verifier = verifier
        let c = URLSessionConfiguration.ephemeral
        c.timeoutIntervalForRequest = 10
        c.timeoutIntervalForResource = 10
        session = URLSession(configuration: c)
    }

    /// 32 random bytes, base64url without padding: state, nonce, verifier, session secrets.
    static func random() -> String {
        var rng = SystemRandomNumberGenerator()
        var bytes = [UInt8]()
        for _ in 0..<4 { withUnsafeBytes(of: rng.next() as UInt64) { bytes += $0 } }
        return base64url(Data(bytes))
    }

    static func base64url(_ d: Data) -> String {
        d.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// PKCE S256: BASE64URL(SHA256(ASCII(code_verifier))).
    static func challenge(_ verifier: String) -> String {
        base64url(Data(SHA256.hash(data: Data(verifier.utf8))))
    }

    /// The discovery document's endpoint, https (http only on loopback).
    func endpoint(_ name: String) async throws -> URL {
        let doc: [String: JSONValue]
        do { doc = try await verifier.discovery(config.issuer) } catch { throw PortalError.provider(error.description) }
        guard case .string(let s)? = doc[name], let url = URL(string: s), IssuerURL.isAcceptable(url) else {
            throw PortalError.provider("the identity provider's discovery document has no usable \(name)")
        }
        return url
    }

    func authorizationURL(state: String, nonce: String, verifier: String, loginHint: String?) async throws -> URL {
        let base = try await endpoint("authorization_endpoint")
        guard var c = URLComponents(url: base, resolvingAgainstBaseURL: false) else { throw PortalError.provider("bad authorization_endpoint") }
        var items = c.queryItems ?? []
        items += [
            URLQueryItem(name: "response_type", value: "code"), URLQueryItem(name: "client_id", value: config.clientID),
            URLQueryItem(name: "redirect_uri", value: config.redirectURI), URLQueryItem(name: "scope", value: config.scopes),
            URLQueryItem(name: "state", value: state), URLQueryItem(name: "nonce", value: nonce),
            URLQueryItem(name: "code_challenge", value: OIDCCodeFlow.challenge(verifier)),
            URLQueryItem(name: "code_challenge_method", value: "S256"),
        ]
        if let loginHint { items.append(URLQueryItem(name: "login_hint", value: loginHint)) }
        c.queryItems = items
        // A '+' in a query value is a space to form decoders: encode it.
        c.percentEncodedQuery = c.percentEncodedQuery?.replacingOccurrences(of: "+", with: "%2B")
        guard let url = c.url else { throw PortalError.provider("bad authorization_endpoint") }
        return url
    }

    /// The code for the ID token (the access token is not used: the portal needs no API of
    /// the provider). Errors name the provider's `error` so an operator can act on it.
    func exchange(code: String, verifier codeVerifier: String) async throws -> String {
        let url = try await endpoint("token_endpoint")
        var req = URLRequest(url: url)
        req.httpMethod = "POST"
        req.setValue("application/x-www-form-urlencoded", forHTTPHeaderField: "Content-Type")
        req.setValue("application/json", forHTTPHeaderField: "Accept")
        let basic = Data("\(OIDCCodeFlow.formEncode(config.clientID)):\(OIDCCodeFlow.formEncode(config.clientSecret))".utf8).base64EncodedString()
        req.setValue("Basic \(basic)", forHTTPHeaderField: "Authorization")
        let form = [("grant_type", "authorization_code"), ("code", code), ("redirect_uri", config.redirectURI),
                    ("client_id", config.clientID), ("code_verifier", codeVerifier)]
        req.httpBody = Data(form.map { "\($0)=\(OIDCCodeFlow.formEncode($1))" }.joined(separator: "&").utf8)
        let data: Data, response: URLResponse
        do { (data, response) = try await session.data(for: req) } catch {
            throw PortalError.provider("the token endpoint did not answer: \(error.localizedDescription)")
        }
        guard data.count <= URLSessionOIDCFetcher.maxBytes,
              case .object(let body)? = try? JSONDecoder().decode(JSONValue.self, from: data) else {
            throw PortalError.provider("the token endpoint's answer is not a JSON object")
        }
        guard (response as? HTTPURLResponse)?.statusCode == 200 else {
            if case .string(let e)? = body["error"] { throw PortalError.provider("the token endpoint refused the code: \(e)") }
            throw PortalError.provider("the token endpoint answered \((response as? HTTPURLResponse)?.statusCode ?? 0)")
        }
        guard case .string(let idToken)? = body["id_token"] else { throw PortalError.provider("the token endpoint gave no id_token") }
        return idToken
    }

    /// application/x-www-form-urlencoded (also what RFC 6749 §2.3.1 asks of Basic's parts).
    static func formEncode(_ s: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return s.addingPercentEncoding(withAllowedCharacters: allowed) ?? ""
    }
}

/// Why a sign-in or a portal request failed; each becomes a clear page or JSON error.
enum PortalError: Error, Sendable {
    case provider(String)
    case refused(String)
    case badRequest(String)
}

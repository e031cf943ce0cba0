import FerryCore
import Foundation

/// A compact JWS (header.payload.signature) split and decoded, not yet verified.
///
/// Why our own verifier and not vapor/jwt-kit: swift-crypto's `_CryptoExtras` (RSA) is
/// already compiled into ferryd through swift-certificates, so RS256 and ES256 cost no new
/// package and no build time, while jwt-kit would add a package (and its BoringSSL-free RSA
/// implementation) to a 20-minute dependency build for the two algorithms OIDC issuers use.
/// What an ID token needs is small: split, base64url, two signature checks, a few claims.
public struct JWT: Sendable {
    public let algorithm: String
    public let keyID: String?
    public let claims: [String: JSONValue]
    /// The bytes the signature covers: "header.payload" as sent.
    let signingInput: Data
    let signature: Data

    /// ID tokens are a few kilobytes; anything far larger is refused before decoding.
    public static let maxLength = 16 * 1024

    public init(compact token: String) throws(OIDCError) {
        guard token.utf8.count <= JWT.maxLength else { throw .malformed("the token is longer than \(JWT.maxLength) bytes") }
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3 else { throw .malformed("a JWT has three dot-separated parts") }
        guard let headerData = Base64URL.decode(parts[0]), let payloadData = Base64URL.decode(parts[1]),
              let sig = Base64URL.decode(parts[2]) else { throw .malformed("a part is not base64url") }
        guard case .object(let header)? = try? JSONDecoder().decode(JSONValue.self, from: headerData),
              case .object(let claims)? = try? JSONDecoder().decode(JSONValue.self, from: payloadData) else {
            throw .malformed("the header or the claims are not a JSON object")
        }
        guard case .string(let alg)? = header["alg"] else { throw .malformed("the header has no alg") }
        algorithm = alg
        if case .string(let kid)? = header["kid"] { keyID = kid } else { keyID = nil }
        self.claims = claims
        signingInput = Data("\(parts[0]).\(parts[1])".utf8)
        signature = sig
    }

    public func string(_ name: String) -> String? {
        if case .string(let s)? = claims[name] { return s }
        return nil
    }

    /// A NumericDate claim in whole seconds (fractions are dropped; out-of-range is nil).
    public func seconds(_ name: String) -> Int64? {
        guard case .number(let n)? = claims[name], n.isFinite, abs(n) < 1e15 else { return nil }
        return Int64(n.rounded(.down))
    }

    /// `aud` is a string or a list of strings.
    public var audiences: [String] {
        switch claims["aud"] {
        case .string(let s)?: return [s]
        case .array(let a)?: return a.compactMap { if case .string(let s) = $0 { return s } else { return nil } }
        default: return []
        }
    }

    /// A claim as text for matching and for the audit record: strings as they are, numbers
    /// and booleans written out (GitHub's `run_id` is a string, GitLab's `project_id` too,
    /// but other issuers send numbers).
    public func claimText(_ name: String) -> String? {
        claims[name].flatMap(JWT.text)
    }

    /// A list claim (`groups`) as its scalar members; a scalar claim as one value. A
    /// pattern matches a list claim when it matches one member.
    public func claimTexts(_ name: String) -> [String] {
        if case .array(let a)? = claims[name] { return a.compactMap(JWT.text) }
        return claimText(name).map { [$0] } ?? []
    }

    static func text(_ v: JSONValue) -> String? {
        switch v {
        case .string(let s): return s
        case .bool(let b): return b ? "true" : "false"
        case .number(let n): return n.rounded() == n && abs(n) < 9e15 ? String(Int64(n)) : String(n)
        default: return nil
        }
    }
}

/// RFC 4648 §5 without padding, as JOSE writes it.
enum Base64URL {
    static func decode(_ s: Substring) -> Data? {
        var b = s.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        if b.contains("=") { return nil }
        switch b.utf8.count % 4 {
        case 2: b += "=="
        case 3: b += "="
        case 1: return nil
        default: break
        }
        return Data(base64Encoded: b)
    }

    static func decode(_ s: String) -> Data? { decode(Substring(s)) }
}

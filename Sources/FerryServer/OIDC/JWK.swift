import Crypto
import FerryCore
import Foundation
import _CryptoExtras

/// A public key from an issuer's JWKS that can check a JWS signature.
enum VerificationKey: Sendable {
    case rsa(_RSA.Signing.PublicKey)
    case p256(P256.Signing.PublicKey)

    /// Checks `jwt`'s signature; the algorithm must be the key's (no "none", no HS256 with a
    /// public key as the secret: the key type decides, the header only has to agree).
    func verifies(_ jwt: JWT) throws(OIDCError) -> Bool {
        switch (self, jwt.algorithm) {
        case (.rsa(let key), "RS256"):
            return key.isValidSignature(_RSA.Signing.RSASignature(rawRepresentation: jwt.signature), for: jwt.signingInput,
                                        padding: .insecurePKCS1v1_5)
        case (.p256(let key), "ES256"):
            // JWS ES256 signatures are r||s, 64 bytes (RFC 7518 §3.4), not DER.
            guard let sig = try? P256.Signing.ECDSASignature(rawRepresentation: jwt.signature) else { return false }
            return key.isValidSignature(sig, for: jwt.signingInput)
        case (_, "RS256"), (_, "ES256"): return false
        default: throw .unsupportedAlgorithm(jwt.algorithm)
        }
    }
}

/// An issuer's JSON Web Key Set: the signing keys by `kid`; keys of other types or uses
/// (encryption keys, Ed25519 before we accept it) are skipped, not an error.
struct JWKSet: Sendable {
    var keys: [String: VerificationKey] = [:]
    /// A key without a kid (some small issuers publish a single one).
    var anonymous: [VerificationKey] = []

    init(json data: Data) throws(OIDCError) {
        guard case .object(let root)? = try? JSONDecoder().decode(JSONValue.self, from: data), case .array(let list)? = root["keys"] else {
            throw .issuerUnavailable("the JWKS is not a JSON object with a keys list")
        }
        for case .object(let jwk) in list {
            func s(_ k: String) -> String? { if case .string(let v)? = jwk[k] { return v } else { return nil } }
            if let use = s("use"), use != "sig" { continue }
            var key: VerificationKey?
            switch s("kty") {
            case "RSA":
                if let n = s("n").flatMap(Base64URL.decode), let e = s("e").flatMap(Base64URL.decode),
                   let k = try? _RSA.Signing.PublicKey(n: n, e: e) { key = .rsa(k) }
            case "EC":
                if s("crv") == "P-256", let x = s("x").flatMap(Base64URL.decode), let y = s("y").flatMap(Base64URL.decode),
                   x.count == 32, y.count == 32, let k = try? P256.Signing.PublicKey(x963Representation: Data([4]) + x + y) { key = .p256(k) }
            default: break
            }
            guard let key else { continue }
            if let kid = s("kid") { keys[kid] = key } else { anonymous.append(key) }
        }
    }

    init() {}

    /// The candidate keys for a token: the one with its kid, or the kid-less ones.
    func candidates(_ kid: String?) -> [VerificationKey] {
        if let kid { return keys[kid].map { [$0] } ?? [] }
        return anonymous
    }
}

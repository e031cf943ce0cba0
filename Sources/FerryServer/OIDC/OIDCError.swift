import FerryCore

/// Why an ID token was refused. Each message names what the caller can fix and nothing of
/// the trust rules beyond that (no expected values, no other rules).
public enum OIDCError: Error, Sendable, Equatable, CustomStringConvertible {
    case malformed(String)
    case unknownIssuer(String)
    case unsupportedAlgorithm(String)
    case unknownKey(String?)
    case badSignature
    case expired
    case notYetValid
    case issuedInFuture
    case wrongAudience([String])
    case noMatchingRule(claim: String, value: String?)
    case replay
    case issuerUnavailable(String)

    public var description: String {
        switch self {
        case .malformed(let why): "the ID token is malformed: \(why)"
        case .unknownIssuer(let iss): "issuer '\(iss)' is not trusted by this coordinator"
        case .unsupportedAlgorithm(let alg): "signature algorithm '\(alg)' is not accepted (RS256 or ES256)"
        case .unknownKey(let kid): "the token is signed by a key the issuer does not publish (kid \(kid ?? "none"))"
        case .badSignature: "the token's signature does not verify"
        case .expired: "the token has expired"
        case .notYetValid: "the token is not valid yet (nbf)"
        case .issuedInFuture: "the token is issued in the future (iat); check the clocks"
        case .wrongAudience(let aud): "the token's audience (\(aud.joined(separator: ", "))) is not accepted for this issuer"
        case .noMatchingRule(let claim, let value):
            "no trust rule accepts this token: claim '\(claim)'\(value.map { " (\($0))" } ?? " (absent)") does not match"
        case .replay: "this token was already used; ask the CI system for a new one"
        case .issuerUnavailable(let why): "the issuer's keys cannot be fetched: \(why)"
        }
    }

    var apiError: APIError {
        switch self {
        case .issuerUnavailable: APIError(status: 502, code: "issuer_unavailable", message: description)
        case .noMatchingRule: APIError(status: 403, code: "no_matching_rule", message: description)
        case .replay: APIError(status: 401, code: "token_replayed", message: description)
        default: APIError(status: 401, code: "invalid_id_token", message: description)
        }
    }
}

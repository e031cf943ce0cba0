import Crypto
import FerryCore
import Foundation

/// What a bearer token may do.
public enum Scope: String, Sendable, CaseIterable, Codable {
    /// Everything.
    case admin
    /// Every GET but tokens.
    case readOnly = "read-only"
    /// Create, read and delete its own ephemeral peers, in its segment, up to its max TTL.
    case ci
    /// One peer's own token (from enrolment): its network map, reports, its key.
    case device
    /// Single use: enrol one device.
    case enroll
    /// A person signed in to the portal (never a bearer token): their own devices only,
    /// in the segment their claims map to (docs/portal.md).
    case person
    /// One gateway host's (`ferryd gateway`): its gateway's network map and heartbeats.
    case gateway
}

/// The authenticated caller of a request.
public struct Caller: Sendable, Equatable {
    public var tokenID: String
    public var name: String
    public var scope: Scope
    /// ci and enroll tokens: the name of their segment.
    public var segmentName: String?
    public var maxTTLSeconds: Int?
    public var peerID: String?
    public var kind: String?
    public var owner: String?
    /// enroll tokens: what the enrolled device may ask for.
    public var allowFullTunnel = false
    public var allowMesh = false
    /// An enrolment token already spent, within `EnrolmentRetry.window`: it may only repeat
    /// its own enrolment (same public key), for a `ferry join` whose answer was lost.
    public var usedAt: Int64? = nil
    /// A person signed in to the portal (their owner name): audited as `user:NAME`.
    public var person: String? = nil

    /// How the audit log names it.
    public var actor: String { "token:\(tokenID)" }

    /// Who calls a route that needs no token (/health, /openapi.yaml, an open /metrics):
    /// the least-privileged scope, no token, no segment, no peer; every object-level check
    /// refuses it, so a handler that reached the store by mistake could do nothing.
    public static let anonymous = Caller(tokenID: "", name: "anonymous", scope: .enroll)

    /// The bootstrap, the reaper and the gateway sync act as `system:NAME`.
    public static func system(_ name: String) -> Caller {
        Caller(tokenID: "", name: name, scope: .admin)
    }

    public var auditName: String {
        if let person { return "user:\(person)" }
        return tokenID.isEmpty ? "system:\(name)" : actor
    }
}

/// Token secrets: 32 random bytes, base64url, prefixed `ferry_`; the store keeps the
/// SHA-256 of the whole string only.
public enum TokenSecret {
    public static func generate() -> String {
        var rng = SystemRandomNumberGenerator()
        var bytes = [UInt8]()
        for _ in 0..<4 { withUnsafeBytes(of: rng.next() as UInt64) { bytes += $0 } }
        let b64 = Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
        return "ferry_" + b64
    }

    public static func hash(_ secret: String) -> String {
        SHA256.hash(data: Data(secret.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// A bearer token has this shape or is refused before any lookup.
    public static func isWellFormed(_ s: Substring) -> Bool {
        s.hasPrefix("ferry_") && s.utf8.count == 49
            && s.utf8.dropFirst(6).allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 65 && $0 <= 90) || ($0 >= 97 && $0 <= 122) || $0 == 45 || $0 == 95 }
    }
}

/// Random identifiers: a type prefix and 16 lowercase base32 characters (80 bits).
public enum IDs {
    private static let alphabet = Array("abcdefghijklmnopqrstuvwxyz234567")
    public static func make(_ prefix: String) -> String {
        var rng = SystemRandomNumberGenerator()
        var out = prefix + "_"
        for _ in 0..<16 { out.append(alphabet[Int(rng.next(upperBound: UInt8(32)))]) }
        return out
    }
}

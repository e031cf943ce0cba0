import FerryCore
import Foundation

/// The portal as ferryd is told it (`--portal-*`, docs/portal.md): the identity provider
/// (a confidential client of the authorization code flow with PKCE), the external URL the
/// redirect URI is derived from, and which claims make a person an admin or a developer.
public struct PortalConfiguration: Sendable {
    /// What a person may do in the portal, decided at each sign-in from their claims.
    public enum Role: String, Sendable, Codable { case admin, developer }

    /// What happens to a person's devices when a sign-in finds they no longer map to a role
    /// (removed from the group): `--portal-removed-devices keep|disable`.
    public enum RemovedDevices: String, Sendable { case keep, disable }

    public var issuer: String
    public var clientID: String
    public var clientSecret: String
    /// The portal's external base URL (`https://ferry.example.com`); the redirect URI is
    /// `<portalURL>/portal/callback` and the Origin every state change must carry.
    public var portalURL: URL
    public var scopes: String
    /// The claim naming the person (a device's owner); falls back to `sub`.
    public var ownerClaim: String
    /// Claims that make an admin (any entry whose conditions all hold).
    public var admins: [ClaimPatterns]
    /// Claims that make a developer, and the segment their devices go in (first match wins).
    public var developers: ClaimSegmentMapping
    public var removedDevices: RemovedDevices
    public var sessionSeconds: Int64
    /// Whether the admin token may sign in (break-glass); audited as such.
    public var allowAdminToken: Bool

    public init(issuer: String, clientID: String, clientSecret: String, portalURL: URL, admins: [ClaimPatterns],
                developers: ClaimSegmentMapping, scopes: String = "openid email profile groups", ownerClaim: String = "email",
                removedDevices: RemovedDevices = .keep, sessionSeconds: Int64 = 8 * 3600, allowAdminToken: Bool = true) {
        self.issuer = issuer; self.clientID = clientID; self.clientSecret = clientSecret; self.portalURL = portalURL
        self.admins = admins; self.developers = developers; self.scopes = scopes; self.ownerClaim = ownerClaim
        self.removedDevices = removedDevices; self.sessionSeconds = sessionSeconds; self.allowAdminToken = allowAdminToken
    }

    /// `https://host[:port]` of the portal URL: what a browser sends as Origin.
    public var origin: String {
        var s = "\(portalURL.scheme ?? "https")://\(portalURL.host ?? "")"
        if let p = portalURL.port { s += ":\(p)" }
        return s
    }

    public var redirectURI: String { base + "/portal/callback" }

    var base: String {
        var s = portalURL.absoluteString
        while s.hasSuffix("/") { s.removeLast() }
        return s
    }

    /// Under TLS the cookie is `Secure` and `__Host-` prefixed (no Domain, Path=/).
    public var secure: Bool { portalURL.scheme?.lowercased() == "https" }

    /// The role and (for a developer) segment these claims map to, or nil: refused.
    public func role(for jwt: JWT) -> (role: Role, segment: String?)? {
        if admins.contains(where: { $0.firstMismatch(jwt) == nil }) { return (.admin, nil) }
        if let segment = developers.segment(for: jwt) { return (.developer, segment) }
        return nil
    }

    /// `--portal-admin CLAIM=PATTERN[,CLAIM=PATTERN…]` (repeat for alternatives).
    public static func parseAdmins(_ specs: [String]) throws(APIError) -> [ClaimPatterns] {
        var out: [ClaimPatterns] = []
        for spec in specs {
            var patterns: [String: String] = [:]
            for cond in spec.split(separator: ",") {
                guard let eq = cond.firstIndex(of: "=") else { throw .invalid("portal-admin", "'\(cond)' is not CLAIM=PATTERN") }
                patterns[String(cond[..<eq])] = String(cond[cond.index(after: eq)...])
            }
            guard !patterns.isEmpty else { throw .invalid("portal-admin", "'\(spec)' has no CLAIM=PATTERN") }
            out.append(try ClaimPatterns.validate(patterns, field: "portal-admin"))
        }
        return out
    }
}

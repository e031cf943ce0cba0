import FerryCore

/// `ferry login`'s identity provider as ferryd is told it (`--login-issuer`,
/// `--login-client-id`, `--login-map`): the issuer, the public client the CLI's device grant
/// uses (also the ID token's audience), and which segment a person's claims map to.
public struct LoginConfiguration: Sendable, Equatable {
    public var issuer: String
    public var clientID: String
    public var mapping: ClaimSegmentMapping
    /// The claim naming the person, the peer's owner (falls back to `sub`).
    public var ownerClaim: String
    public var scopes: String

    public init(issuer: String, clientID: String, mapping: ClaimSegmentMapping, ownerClaim: String = "email",
                scopes: String = "openid email profile groups") {
        self.issuer = issuer; self.clientID = clientID; self.mapping = mapping; self.ownerClaim = ownerClaim; self.scopes = scopes
    }

    public var info: LoginInfo { LoginInfo(issuer: issuer, clientID: clientID, scopes: scopes) }
}

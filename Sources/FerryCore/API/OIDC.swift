import Foundation

/// Trust rules for CI issuers and the OIDC exchange (docs/ferryd.md, "Keyless CI peers").

public struct CreateTrustRuleRequest: StrictDecodable, Codable, Sendable {
    /// The issuer URL exactly as the tokens' `iss` says (https, or http on loopback).
    public var issuer: String
    /// The audience the token must carry (`aud`).
    public var audience: String
    /// Claim name to an exact value or a glob (`*` matches any run of characters).
    public var claims: [String: String]
    /// The segment the job's peer joins.
    public var segment: String
    /// The longest TTL a matching job may ask for (default 3600).
    public var maxTTLSeconds: Int?
    /// Narrows what the peer may reach (within its segment's policy).
    public var allowedIPs: [String]?
    public enum CodingKeys: String, CodingKey, CaseIterable { case issuer, audience, claims, segment, maxTTLSeconds, allowedIPs }
    public init(issuer: String, audience: String, claims: [String: String], segment: String, maxTTLSeconds: Int? = nil,
                allowedIPs: [String]? = nil) {
        self.issuer = issuer; self.audience = audience; self.claims = claims; self.segment = segment
        self.maxTTLSeconds = maxTTLSeconds; self.allowedIPs = allowedIPs
    }
}

public struct TrustRuleView: Codable, Sendable, Equatable {
    public var id: String
    public var issuer: String
    public var audience: String
    public var claims: [String: String]
    public var segment: String
    public var maxTTLSeconds: Int
    public var allowedIPs: [String]?
    public var createdAt: Date
    public var createdBy: String
    public init(id: String, issuer: String, audience: String, claims: [String: String], segment: String, maxTTLSeconds: Int,
                allowedIPs: [String]?, createdAt: Date, createdBy: String) {
        self.id = id; self.issuer = issuer; self.audience = audience; self.claims = claims; self.segment = segment
        self.maxTTLSeconds = maxTTLSeconds; self.allowedIPs = allowedIPs; self.createdAt = createdAt; self.createdBy = createdBy
    }
}

/// A job's exchange: its ID token and the public key of the peer to create.
public struct OIDCExchangeRequest: StrictDecodable, Codable, Sendable {
    public var idToken: String
    public var publicKey: String
    /// The peer's name (default: ci-<issuer's run id or random>).
    public var name: String?
    /// Default and cap: the rule's maximum TTL.
    public var ttlSeconds: Int?
    /// Narrows further, inside the rule's allowed IPs.
    public var allowedIPs: [String]?
    public enum CodingKeys: String, CodingKey, CaseIterable { case idToken, publicKey, name, ttlSeconds, allowedIPs }
    public init(idToken: String, publicKey: String, name: String? = nil, ttlSeconds: Int? = nil, allowedIPs: [String]? = nil) {
        self.idToken = idToken; self.publicKey = publicKey; self.name = name; self.ttlSeconds = ttlSeconds; self.allowedIPs = allowedIPs
    }
}

/// The ephemeral peer and a token bound to it (reads its config, deletes it; expires with it).
public struct OIDCExchangeResponse: Codable, Sendable, Equatable {
    public var peer: PeerView
    public var token: String
    public var rule: String
    public init(peer: PeerView, token: String, rule: String) { self.peer = peer; self.token = token; self.rule = rule }
}

/// What `ferry login` needs to start the device grant: ferryd's identity provider.
public struct LoginInfo: Codable, Sendable, Equatable {
    public var issuer: String
    public var clientID: String
    public var scopes: String
    public init(issuer: String, clientID: String, scopes: String) { self.issuer = issuer; self.clientID = clientID; self.scopes = scopes }
}

/// A person's ID token (from the device grant) and the public key of the machine to enrol.
public struct LoginRequest: StrictDecodable, Codable, Sendable {
    public var idToken: String
    public var name: String
    public var publicKey: String
    public var mesh: Bool?
    public var tunnel: String?
    public enum CodingKeys: String, CodingKey, CaseIterable { case idToken, name, publicKey, mesh, tunnel }
    public init(idToken: String, name: String, publicKey: String, mesh: Bool? = nil, tunnel: String? = nil) {
        self.idToken = idToken; self.name = name; self.publicKey = publicKey; self.mesh = mesh; self.tunnel = tunnel
    }
}

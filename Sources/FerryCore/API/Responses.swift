import Foundation

/// Response bodies of the /v1 API (shared with the CLI, which decodes them).

public struct NetworkView: Codable, Sendable, Equatable {
    public var name: String
    public var ipv4: String
    public var ipv6: String?
    public var dns: [String]
    public var mtu: Int
    public var keepalive: Int
}

public struct SegmentView: Codable, Sendable, Equatable {
    public var id: String
    public var name: String
    public var ipv4: String
    public var ipv6: String?
    public var peers: Int
}

public struct PeerView: Codable, Sendable, Equatable {
    public var id: String
    public var name: String
    public var kind: String
    public var owner: String
    public var segment: String
    public var ipv4: String
    public var ipv6: String?
    public var publicKey: String
    public var tunnel: String
    public var dns: [String]?
    public var mtu: Int?
    public var keepalive: Int?
    public var mesh: Bool
    public var enabled: Bool
    public var ephemeral: Bool
    public var allowedIPs: [String]?
    public var expiresAt: Date?
    public var createdAt: Date
    public var updatedAt: Date
    public var createdBy: String
    public var endpoint: String?
    public var seenEndpoint: String?
    public var rxBytes: Int64?
    public var txBytes: Int64?
    public var latestHandshake: Date?
}

/// A peer just created (or re-keyed): with `config` (and the private key inside it) only
/// when ferryd generated the key; shown once, never stored.
public struct PeerCreated: Codable, Sendable, Equatable {
    public var peer: PeerView
    public var config: String?
}

public struct GatewayView: Codable, Sendable, Equatable {
    public var id: String
    public var name: String
    public var segment: String
    public var ipv4: String
    public var ipv6: String?
    public var publicKey: String
    public var endpoint: String
    public var listenPort: Int
    public var subnets: [String]
    public var masquerade: Bool
    public var enabled: Bool
    /// True for the gateway this ferryd hosts (`--gateway`), whose key lives in its data folder.
    public var local: Bool
    public var keyRotatedAt: Date?
    public var createdAt: Date
}

public struct PolicyRuleView: Codable, Sendable, Equatable {
    public var id: String
    public var from: String
    public var toSegment: String?
    public var toSubnet: String?
}

public struct TokenView: Codable, Sendable, Equatable {
    public var id: String
    public var name: String
    public var scope: String
    public var segment: String?
    public var maxTTLSeconds: Int?
    public var peer: String?
    public var kind: String?
    public var owner: String?
    public var expiresAt: Date?
    public var usedAt: Date?
    public var createdAt: Date
    public var createdBy: String
}

/// The secret appears here once; ferryd keeps only its SHA-256.
public struct TokenCreated: Codable, Sendable, Equatable {
    public var token: TokenView
    public var secret: String
}

public struct AuditEventView: Codable, Sendable, Equatable {
    public var seq: Int64
    public var at: Date
    public var actor: String
    public var action: String
    public var objectType: String
    public var objectID: String
    public var peer: String?
    public var before: JSONValue?
    public var after: JSONValue?
}

public struct ListResponse<Item: Codable & Sendable & Equatable>: Codable, Sendable, Equatable {
    public var items: [Item]
    public init(items: [Item]) { self.items = items }
}

public struct EnrollResponse: Codable, Sendable, Equatable {
    public var peer: PeerView
    /// The device's own token (scope device): read its network map, report.
    public var deviceToken: String
    public var netmap: NetworkMap
}

public struct HealthView: Codable, Sendable, Equatable {
    public var status: String
    public var version: String
}

import Foundation

/// Response bodies of the /v1 API (shared with the CLI, which decodes them).

public struct NetworkView: Codable, Sendable, Equatable {
    public var name: String
    public var ipv4: String
    public var ipv6: String?
    public var dns: [String]
    public var mtu: Int
    public var keepalive: Int
    /// The zone ferryd answers DNS for, and where other names are forwarded (docs/dns.md).
    public var dnsZone: String?
    public var dnsUpstreams: [String]?
    public init(name: String, ipv4: String, ipv6: String? = nil, dns: [String], mtu: Int, keepalive: Int,
                dnsZone: String? = nil, dnsUpstreams: [String]? = nil) {
        self.name = name; self.ipv4 = ipv4; self.ipv6 = ipv6; self.dns = dns; self.mtu = mtu; self.keepalive = keepalive
        self.dnsZone = dnsZone; self.dnsUpstreams = dnsUpstreams
    }
}

public struct SegmentView: Codable, Sendable, Equatable {
    public var id: String
    public var name: String
    public var ipv4: String
    public var ipv6: String?
    public var peers: Int
    public init(id: String, name: String, ipv4: String, ipv6: String? = nil, peers: Int) {
        self.id = id; self.name = name; self.ipv4 = ipv4; self.ipv6 = ipv6; self.peers = peers
    }
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
    public init(id: String, name: String, kind: String, owner: String, segment: String, ipv4: String, ipv6: String? = nil, publicKey: String, tunnel: String, dns: [String]? = nil, mtu: Int? = nil, keepalive: Int? = nil, mesh: Bool, enabled: Bool, ephemeral: Bool, allowedIPs: [String]? = nil, expiresAt: Date? = nil, createdAt: Date, updatedAt: Date, createdBy: String, endpoint: String? = nil, seenEndpoint: String? = nil, rxBytes: Int64? = nil, txBytes: Int64? = nil, latestHandshake: Date? = nil) {
        self.id = id; self.name = name; self.kind = kind; self.owner = owner; self.segment = segment; self.ipv4 = ipv4; self.ipv6 = ipv6; self.publicKey = publicKey; self.tunnel = tunnel; self.dns = dns; self.mtu = mtu; self.keepalive = keepalive; self.mesh = mesh; self.enabled = enabled; self.ephemeral = ephemeral; self.allowedIPs = allowedIPs; self.expiresAt = expiresAt; self.createdAt = createdAt; self.updatedAt = updatedAt; self.createdBy = createdBy; self.endpoint = endpoint; self.seenEndpoint = seenEndpoint; self.rxBytes = rxBytes; self.txBytes = txBytes; self.latestHandshake = latestHandshake
    }
}

/// A peer just created (or re-keyed): with `config` (and the private key inside it) only
/// when ferryd generated the key; shown once, never stored.
public struct PeerCreated: Codable, Sendable, Equatable {
    public var peer: PeerView
    public var config: String?
    public init(peer: PeerView, config: String? = nil) {
        self.peer = peer; self.config = config
    }
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
    /// Failover (docs/deploy.md, "Two gateways"): its priority (lower carries first);
    /// up, down, or unknown when it never sent a heartbeat; its last heartbeat; the
    /// subnets agents route through it now.
    public var priority: Int? = nil
    public var status: String? = nil
    public var lastHeartbeatAt: Date? = nil
    public var active: [String]? = nil
    public init(id: String, name: String, segment: String, ipv4: String, ipv6: String? = nil, publicKey: String, endpoint: String, listenPort: Int, subnets: [String], masquerade: Bool, enabled: Bool, local: Bool, keyRotatedAt: Date? = nil, createdAt: Date,
                priority: Int? = nil, status: String? = nil, lastHeartbeatAt: Date? = nil) {
        self.id = id; self.name = name; self.segment = segment; self.ipv4 = ipv4; self.ipv6 = ipv6; self.publicKey = publicKey; self.endpoint = endpoint; self.listenPort = listenPort; self.subnets = subnets; self.masquerade = masquerade; self.enabled = enabled; self.local = local; self.keyRotatedAt = keyRotatedAt; self.createdAt = createdAt
        self.priority = priority; self.status = status; self.lastHeartbeatAt = lastHeartbeatAt
    }
}

public struct PolicyRuleView: Codable, Sendable, Equatable {
    public var id: String
    public var from: String
    public var toSegment: String?
    public var toSubnet: String?
    /// The gateway (by name) whose host the rule opens.
    public var toGateway: String?
    /// What the rule opens (`tcp/22`, `udp/53`, `icmp`); empty: every protocol and port.
    public var ports: [String]
    public init(id: String, from: String, toSegment: String? = nil, toSubnet: String? = nil, toGateway: String? = nil, ports: [String] = []) {
        self.id = id; self.from = from; self.toSegment = toSegment; self.toSubnet = toSubnet; self.toGateway = toGateway; self.ports = ports
    }
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
    /// enroll tokens: what the enrolled device may ask for beyond a split tunnel.
    public var allowFullTunnel: Bool?
    public var allowMesh: Bool?
    public init(id: String, name: String, scope: String, segment: String? = nil, maxTTLSeconds: Int? = nil, peer: String? = nil, kind: String? = nil, owner: String? = nil, expiresAt: Date? = nil, usedAt: Date? = nil, createdAt: Date, createdBy: String,
                allowFullTunnel: Bool? = nil, allowMesh: Bool? = nil) {
        self.id = id; self.name = name; self.scope = scope; self.segment = segment; self.maxTTLSeconds = maxTTLSeconds; self.peer = peer; self.kind = kind; self.owner = owner; self.expiresAt = expiresAt; self.usedAt = usedAt; self.createdAt = createdAt; self.createdBy = createdBy
        self.allowFullTunnel = allowFullTunnel; self.allowMesh = allowMesh
    }
}

/// The secret appears here once; ferryd keeps only its SHA-256.
public struct TokenCreated: Codable, Sendable, Equatable {
    public var token: TokenView
    public var secret: String
    public init(token: TokenView, secret: String) {
        self.token = token; self.secret = secret
    }
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
    public init(seq: Int64, at: Date, actor: String, action: String, objectType: String, objectID: String, peer: String? = nil, before: JSONValue? = nil, after: JSONValue? = nil) {
        self.seq = seq; self.at = at; self.actor = actor; self.action = action; self.objectType = objectType; self.objectID = objectID; self.peer = peer; self.before = before; self.after = after
    }
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
    public init(peer: PeerView, deviceToken: String, netmap: NetworkMap) {
        self.peer = peer; self.deviceToken = deviceToken; self.netmap = netmap
    }
}

public struct HealthView: Codable, Sendable, Equatable {
    /// `ok`, or `degraded` (served with 503) when something ferryd must keep up is not.
    public var status: String
    public var version: String
    /// Why it is degraded.
    public var problems: [String]?
    public init(status: String, version: String, problems: [String]? = nil) {
        self.status = status; self.version = version; self.problems = problems
    }
}

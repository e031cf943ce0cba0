/// Request bodies of the /v1 API. Every field is a plain JSON value; the server parses
/// and validates them and names the field it refuses. Unknown fields are refused.

public struct UpdateNetworkRequest: StrictDecodable, Codable, Sendable {
    public var name: String?
    public var ipv4: String?
    public var ipv6: String?
    public var dns: [String]?
    public var mtu: Int?
    public var keepalive: Int?
    /// "" puts the zone back to its default, NAME.ferry.internal.
    public var dnsZone: String?
    public var dnsUpstreams: [String]?
    public enum CodingKeys: String, CodingKey, CaseIterable { case name, ipv4, ipv6, dns, mtu, keepalive, dnsZone, dnsUpstreams }
    public init(name: String? = nil, ipv4: String? = nil, ipv6: String? = nil, dns: [String]? = nil, mtu: Int? = nil, keepalive: Int? = nil,
                dnsZone: String? = nil, dnsUpstreams: [String]? = nil) {
        self.name = name; self.ipv4 = ipv4; self.ipv6 = ipv6; self.dns = dns; self.mtu = mtu; self.keepalive = keepalive
        self.dnsZone = dnsZone; self.dnsUpstreams = dnsUpstreams
    }
}

public struct CreateSegmentRequest: StrictDecodable, Codable, Sendable {
    public var name: String
    /// An IPv4 prefix inside the network's; omitted: the first free /`prefixLength`.
    public var ipv4: String?
    public var prefixLength: Int?
    public enum CodingKeys: String, CodingKey, CaseIterable { case name, ipv4, prefixLength }
    public init(name: String, ipv4: String? = nil, prefixLength: Int? = nil) {
        self.name = name; self.ipv4 = ipv4; self.prefixLength = prefixLength
    }
}

public struct CreatePolicyRuleRequest: StrictDecodable, Codable, Sendable {
    /// Segment name whose peers may open connections.
    public var from: String
    /// Exactly one of the three: a segment, an internal subnet, or a gateway's own host.
    public var toSegment: String?
    public var toSubnet: String?
    public var toGateway: String?
    /// `tcp/22`, `tcp/8080-8090`, `udp/53`, `tcp`, `icmp`; omitted or empty: everything.
    public var ports: [String]?
    public enum CodingKeys: String, CodingKey, CaseIterable { case from, toSegment, toSubnet, toGateway, ports }
    public init(from: String, toSegment: String? = nil, toSubnet: String? = nil, toGateway: String? = nil, ports: [String]? = nil) {
        self.from = from; self.toSegment = toSegment; self.toSubnet = toSubnet; self.toGateway = toGateway; self.ports = ports
    }
}

public struct CreatePeerRequest: StrictDecodable, Codable, Sendable {
    public var name: String
    /// device (default), server or ci.
    public var kind: String?
    public var owner: String?
    /// Segment name; a ci token's own segment when omitted.
    public var segment: String?
    /// The peer's public key (base64); the private key stays on the device.
    public var publicKey: String?
    /// Ask ferryd to generate the key pair: the private key is returned once, inside
    /// `config`, and never stored.
    public var generateKey: Bool?
    public var tunnel: String?
    public var dns: [String]?
    public var mtu: Int?
    public var keepalive: Int?
    public var mesh: Bool?
    /// Makes the peer ephemeral: removed this many seconds after creation.
    public var ttlSeconds: Int?
    /// Narrows what the peer may reach to these prefixes (within its policy).
    public var allowedIPs: [String]?
    public enum CodingKeys: String, CodingKey, CaseIterable {
        case name, kind, owner, segment, publicKey, generateKey, tunnel, dns, mtu, keepalive, mesh, ttlSeconds, allowedIPs
    }
    public init(name: String, kind: String? = nil, owner: String? = nil, segment: String? = nil, publicKey: String? = nil,
                generateKey: Bool? = nil, tunnel: String? = nil, dns: [String]? = nil, mtu: Int? = nil, keepalive: Int? = nil,
                mesh: Bool? = nil, ttlSeconds: Int? = nil, allowedIPs: [String]? = nil) {
        self.name = name; self.kind = kind; self.owner = owner; self.segment = segment; self.publicKey = publicKey
        self.generateKey = generateKey; self.tunnel = tunnel; self.dns = dns; self.mtu = mtu; self.keepalive = keepalive
        self.mesh = mesh; self.ttlSeconds = ttlSeconds; self.allowedIPs = allowedIPs
    }
}

public struct UpdatePeerRequest: StrictDecodable, Codable, Sendable {
    public var name: String?
    public var owner: String?
    public var enabled: Bool?
    public var tunnel: String?
    public var dns: [String]?
    public var mtu: Int?
    public var keepalive: Int?
    public var mesh: Bool?
    public var allowedIPs: [String]?
    public enum CodingKeys: String, CodingKey, CaseIterable { case name, owner, enabled, tunnel, dns, mtu, keepalive, mesh, allowedIPs }
    public init(name: String? = nil, owner: String? = nil, enabled: Bool? = nil, tunnel: String? = nil, dns: [String]? = nil,
                mtu: Int? = nil, keepalive: Int? = nil, mesh: Bool? = nil, allowedIPs: [String]? = nil) {
        self.name = name; self.owner = owner; self.enabled = enabled; self.tunnel = tunnel; self.dns = dns
        self.mtu = mtu; self.keepalive = keepalive; self.mesh = mesh; self.allowedIPs = allowedIPs
    }
}

/// A new key for a peer or a gateway: a public key from the device, or (peers only)
/// `generateKey` for ferryd to make one and return it once; for a gateway ferryd hosts
/// itself, an empty body makes ferryd generate the new key in its key file.
public struct RotateKeyRequest: StrictDecodable, Codable, Sendable {
    public var publicKey: String?
    public var generateKey: Bool?
    public enum CodingKeys: String, CodingKey, CaseIterable { case publicKey, generateKey }
    public init(publicKey: String? = nil, generateKey: Bool? = nil) { self.publicKey = publicKey; self.generateKey = generateKey }
}

public struct CreateGatewayRequest: StrictDecodable, Codable, Sendable {
    public var name: String
    /// Segment name for its overlay address; `gateways` when omitted.
    public var segment: String?
    /// Public HOST:PORT that peers dial.
    public var endpoint: String
    /// UDP port it listens on; the endpoint's port when omitted.
    public var listenPort: Int?
    public var subnets: [String]?
    public var masquerade: Bool?
    /// Omitted for the gateway ferryd hosts itself (`--gateway`): ferryd fills in its key.
    public var publicKey: String?
    public var owner: String?
    /// Among gateways serving the same subnet, the lowest that is up carries it; 100 when omitted.
    public var priority: Int? = nil
    public enum CodingKeys: String, CodingKey, CaseIterable { case name, segment, endpoint, listenPort, subnets, masquerade, publicKey, owner, priority }
    public init(name: String, segment: String? = nil, endpoint: String, listenPort: Int? = nil, subnets: [String]? = nil,
                masquerade: Bool? = nil, publicKey: String? = nil, owner: String? = nil) {
        self.name = name; self.segment = segment; self.endpoint = endpoint; self.listenPort = listenPort
        self.subnets = subnets; self.masquerade = masquerade; self.publicKey = publicKey; self.owner = owner
    }
}

public struct UpdateGatewayRequest: StrictDecodable, Codable, Sendable {
    public var endpoint: String?
    public var listenPort: Int?
    public var subnets: [String]?
    public var masquerade: Bool?
    public var enabled: Bool?
    public var priority: Int? = nil
    public enum CodingKeys: String, CodingKey, CaseIterable { case endpoint, listenPort, subnets, masquerade, enabled, priority }
    public init(endpoint: String? = nil, listenPort: Int? = nil, subnets: [String]? = nil, masquerade: Bool? = nil, enabled: Bool? = nil) {
        self.endpoint = endpoint; self.listenPort = listenPort; self.subnets = subnets; self.masquerade = masquerade; self.enabled = enabled
    }
}

public struct CreateTokenRequest: StrictDecodable, Codable, Sendable {
    public var name: String
    /// admin, read-only, ci or enroll (device tokens come from enrolment).
    public var scope: String
    public var expiresInSeconds: Int?
    /// ci and enroll: the segment its peers go to.
    public var segment: String?
    /// ci: the longest TTL it may give a peer (default 3600).
    public var maxTTLSeconds: Int?
    /// enroll: the kind and owner of the enrolled peer.
    public var kind: String?
    public var owner: String?
    /// enroll: whether the device may ask for a full tunnel (internet egress through the
    /// gateway) or mesh links; both default to false, and the enrollee cannot ask for more.
    public var allowFullTunnel: Bool?
    public var allowMesh: Bool?
    public enum CodingKeys: String, CodingKey, CaseIterable {
        case name, scope, expiresInSeconds, segment, maxTTLSeconds, kind, owner, allowFullTunnel, allowMesh
    }
    public init(name: String, scope: String, expiresInSeconds: Int? = nil, segment: String? = nil, maxTTLSeconds: Int? = nil,
                kind: String? = nil, owner: String? = nil, allowFullTunnel: Bool? = nil, allowMesh: Bool? = nil) {
        self.name = name; self.scope = scope; self.expiresInSeconds = expiresInSeconds; self.segment = segment
        self.maxTTLSeconds = maxTTLSeconds; self.kind = kind; self.owner = owner
        self.allowFullTunnel = allowFullTunnel; self.allowMesh = allowMesh
    }
}

/// Sent with an enrolment token: the device's PUBLIC key only.
public struct EnrollRequest: StrictDecodable, Codable, Sendable {
    /// The peer's name; absent: the enrolment token's name (unique, unlike host names).
    public var name: String?
    public var publicKey: String
    public var mesh: Bool?
    public var tunnel: String?
    public enum CodingKeys: String, CodingKey, CaseIterable { case name, publicKey, mesh, tunnel }
    public init(name: String?, publicKey: String, mesh: Bool? = nil, tunnel: String? = nil) {
        self.name = name; self.publicKey = publicKey; self.mesh = mesh; self.tunnel = tunnel
    }
}

/// What an agent reports about its own interface.
public struct ReportRequest: StrictDecodable, Codable, Sendable {
    /// Its public HOST:PORT as it knows it (e.g. from a STUN-like probe or configuration).
    public var endpoint: String?
    public var rxBytes: Int64?
    public var txBytes: Int64?
    /// Unix seconds of the latest handshake with the gateway; 0 for none.
    public var latestHandshake: Int64?
    /// Its local addresses with the interface's listen port (`192.168.1.20:41641`): the mesh
    /// candidates other peers try besides the endpoint the gateway observed (docs/mesh.md).
    public var candidates: [String]? = nil
    /// How many of its mesh links are direct and how many go through the gateway now.
    public var meshDirect: Int? = nil
    public var meshRelayed: Int? = nil
    public enum CodingKeys: String, CodingKey, CaseIterable {
        case endpoint, rxBytes, txBytes, latestHandshake, candidates, meshDirect, meshRelayed
    }
    public init(endpoint: String? = nil, rxBytes: Int64? = nil, txBytes: Int64? = nil, latestHandshake: Int64? = nil) {
        self.endpoint = endpoint; self.rxBytes = rxBytes; self.txBytes = txBytes; self.latestHandshake = latestHandshake
    }
}

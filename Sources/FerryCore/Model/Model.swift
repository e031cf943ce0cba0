import WireGuard

/// Milliseconds since the Unix epoch on the wall clock: what the store keeps for creation
/// times and expiry, so a TTL survives a restart.
public typealias Millis = Int64

/// What a peer is. Gateways are peers too (they hold an overlay address and a key), with
/// the extra attributes of `Gateway`.
public enum PeerKind: String, Codable, Sendable, CaseIterable {
    case device, server, ci, gateway
}

/// Which traffic a peer sends through the network.
public enum TunnelMode: String, Codable, Sendable, CaseIterable {
    /// Only the overlay and the internal subnets its policy reaches (the default).
    case split
    /// Everything: 0.0.0.0/0 and ::/0 towards the egress gateway.
    case full
}

/// The network as a whole: its name, its prefixes and the defaults every peer inherits.
public struct NetworkSettings: Sendable, Equatable {
    public var name: String
    public var ipv4: IPPrefix
    public var ipv6: IPPrefix?
    public var dns: [IPAddress]
    public var mtu: Int
    public var keepalive: Int
    /// The DNS zone ferryd answers for; nil: `NAME.ferry.internal` (see `zone`).
    public var dnsZone: String?
    /// Resolvers names outside the zone are forwarded to; empty: refused (docs/dns.md).
    public var dnsUpstreams: [HostPort]

    public init(name: String, ipv4: IPPrefix, ipv6: IPPrefix?, dns: [IPAddress] = [], mtu: Int = 1420, keepalive: Int = 25,
                dnsZone: String? = nil, dnsUpstreams: [HostPort] = []) {
        self.name = name
        self.ipv4 = ipv4
        self.ipv6 = ipv6
        self.dns = dns
        self.mtu = mtu
        self.keepalive = keepalive
        self.dnsZone = dnsZone
        self.dnsUpstreams = dnsUpstreams
    }

    /// The plan that mirrors IPv4 offsets into the IPv6 prefix.
    public var plan: AddressPlan { AddressPlan(ipv4: ipv4, ipv6: ipv6) }
}

/// A named slice of the network's IPv4 prefix (its IPv6 slice mirrors it).
public struct Segment: Sendable, Equatable, Identifiable {
    public var id: String
    public var name: String
    public var ipv4: IPPrefix

    public init(id: String, name: String, ipv4: IPPrefix) {
        self.id = id
        self.name = name
        self.ipv4 = ipv4
    }
}

/// A device, server, CI job or gateway on the network.
public struct Peer: Sendable, Equatable, Identifiable {
    public var id: String
    public var name: String
    public var kind: PeerKind
    public var owner: String
    public var segmentID: String
    public var ipv4: IPv4Address
    public var publicKey: PublicKey
    public var tunnel: TunnelMode
    /// nil: the network's DNS.
    public var dns: [IPAddress]?
    /// nil: the network's MTU.
    public var mtu: Int?
    /// nil: the network's keepalive; 0 turns it off.
    public var keepalive: Int?
    public var mesh: Bool
    public var enabled: Bool
    /// When set, the peer reaches only these destinations (intersected with its policy).
    public var restrictTo: [IPPrefix]?
    /// Wall-clock expiry of an ephemeral peer.
    public var expiresAt: Millis?
    public var createdAt: Millis
    public var updatedAt: Millis
    /// Token id (or "system") that created the peer.
    public var createdBy: String
    /// The endpoint the peer reported itself.
    public var reportedEndpoint: HostPort?
    /// The endpoint the gateway last saw it at.
    public var seenEndpoint: HostPort?
    /// The local addresses (with the interface's listen port) the agent last reported: mesh
    /// candidates besides the observed endpoint (docs/mesh.md).
    public var localCandidates: [HostPort] = []

    public init(id: String, name: String, kind: PeerKind, owner: String, segmentID: String, ipv4: IPv4Address,
                publicKey: PublicKey, tunnel: TunnelMode = .split, dns: [IPAddress]? = nil, mtu: Int? = nil,
                keepalive: Int? = nil, mesh: Bool = false, enabled: Bool = true, restrictTo: [IPPrefix]? = nil,
                expiresAt: Millis? = nil, createdAt: Millis = 0, updatedAt: Millis = 0, createdBy: String = "system",
                reportedEndpoint: HostPort? = nil, seenEndpoint: HostPort? = nil) {
        self.id = id; self.name = name; self.kind = kind; self.owner = owner; self.segmentID = segmentID
        self.ipv4 = ipv4; self.publicKey = publicKey; self.tunnel = tunnel; self.dns = dns; self.mtu = mtu
        self.keepalive = keepalive; self.mesh = mesh; self.enabled = enabled; self.restrictTo = restrictTo
        self.expiresAt = expiresAt; self.createdAt = createdAt; self.updatedAt = updatedAt; self.createdBy = createdBy
        self.reportedEndpoint = reportedEndpoint; self.seenEndpoint = seenEndpoint
    }

    public var isEphemeral: Bool { expiresAt != nil }

    /// Where another peer can find this one: what the gateway saw first, then what it reported.
    public var bestEndpoint: HostPort? { seenEndpoint ?? reportedEndpoint }
}

/// The gateway attributes of a peer of kind `.gateway`.
public struct Gateway: Sendable, Equatable {
    public var peerID: String
    /// The public endpoint peers dial.
    public var endpoint: HostPort
    public var listenPort: UInt16
    /// The internal subnets it routes.
    public var subnets: [IPPrefix]
    /// Whether traffic leaving it is masqueraded (needed for full-tunnel egress).
    public var masquerade: Bool
    /// ferryd runs it (`--gateway`), so it answers DNS for the zone on its overlay address.
    public var servesDNS: Bool
    /// Among gateways serving the same subnet, the lowest number that is up carries it
    /// (docs/deploy.md, "Two gateways"). 100 unless set.
    public var priority: Int
    /// The coordinator's liveness verdict (heartbeats, hold-down); true for a gateway that
    /// never sent a heartbeat (ferryd's own, or one configured by hand).
    public var up: Bool

    public init(peerID: String, endpoint: HostPort, listenPort: UInt16, subnets: [IPPrefix], masquerade: Bool, servesDNS: Bool = false,
                priority: Int = 100, up: Bool = true) {
        self.priority = priority
        self.up = up
        self.peerID = peerID
        self.endpoint = endpoint
        self.listenPort = listenPort
        self.subnets = subnets
        self.masquerade = masquerade
        self.servesDNS = servesDNS
    }
}

/// Where a policy rule lets a segment go.
public enum PolicyTarget: Sendable, Equatable, Hashable {
    case segment(String)      // segment id
    case subnet(IPPrefix)     // an internal subnet some gateway routes
    /// The gateway host itself (any of its own addresses, reached through its WireGuard
    /// interface): the gateway's peer id. Traffic to the host is default deny like the rest.
    case gateway(String)
}

/// "Peers of segment `from` may open connections to `to`." Nothing else is allowed.
public struct PolicyRule: Sendable, Equatable, Identifiable {
    public var id: String
    public var from: String   // segment id
    public var to: PolicyTarget
    /// What the rule opens at its target; empty: every protocol and port.
    public var ports: [PortSpec]

    public init(id: String, from: String, to: PolicyTarget, ports: [PortSpec] = []) {
        self.id = id
        self.from = from
        self.to = to
        self.ports = PortSpec.normalize(ports)
    }
}

/// Everything the policy compiler needs: one consistent snapshot of the store.
public struct Topology: Sendable {
    public var network: NetworkSettings
    public var segments: [Segment]
    public var peers: [Peer]
    public var gateways: [Gateway]
    public var rules: [PolicyRule]

    public init(network: NetworkSettings, segments: [Segment], peers: [Peer], gateways: [Gateway], rules: [PolicyRule]) {
        self.network = network
        self.segments = segments
        self.peers = peers
        self.gateways = gateways
        self.rules = rules
    }
}

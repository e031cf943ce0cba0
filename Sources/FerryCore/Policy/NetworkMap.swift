import Crypto
import Foundation
import WireGuard

/// Everything a device needs to configure its interface, plus a version that changes
/// whenever anything in it changes. The version is a digest of the content (53 bits, so
/// it is exact in every JSON implementation): compare it for equality, not order.
public struct NetworkMap: Codable, Sendable, Equatable {
    public struct Interface: Codable, Sendable, Equatable {
        public var addresses: [String]
        public var dns: [String]
        public var mtu: Int
        public var listenPort: Int?
        /// The public key the coordinator has for this peer: an agent whose own key differs
        /// was rotated elsewhere (and a rotation wakes its long poll).
        public var publicKey: String? = nil
    }

    public struct Entry: Codable, Sendable, Equatable {
        public var id: String
        public var name: String
        /// gateway, mesh, or (in a gateway's map) peer.
        public var role: String
        public var publicKey: String
        public var endpoint: String?
        public var allowedIPs: [String]
        public var persistentKeepalive: Int?
        public var inbound: Bool?
        public var outbound: Bool?
        /// Mesh only: the ports a direction is limited to (`tcp/22`); absent: all.
        public var inboundPorts: [String]?
        public var outboundPorts: [String]?
        /// Gateways only: subnets this gateway also serves while another one, up and
        /// preferred, carries them (they are not in `allowedIPs`); absent: none.
        public var standbyFor: [String]? = nil
        /// Mesh only: every address the other side may be reached at, best first (the
        /// endpoint the gateway observed, its port-preserving variant, its reported local
        /// addresses). The agent probes them in turn (docs/mesh.md); absent from older
        /// coordinators, when `endpoint` is the only candidate.
        public var candidates: [String]? = nil
    }

    /// Present in a gateway's own map: what its interface and firewall must hold.
    public struct GatewayPart: Codable, Sendable, Equatable {
        public var listenPort: Int
        public var subnets: [String]
        public var masquerade: Bool
        public var nftables: String
    }

    /// Where the zone's names are answered: split DNS on the device (docs/dns.md).
    public struct DNSPart: Codable, Sendable, Equatable {
        public var server: String
        public var zone: String
        public init(server: String, zone: String) { self.server = server; self.zone = zone }
    }

    public var version: Int64
    public var peerID: String
    public var name: String
    public var enabled: Bool
    public var expiresAt: Date?
    public var interface: Interface
    public var peers: [Entry]
    public var gateway: GatewayPart?
    /// nil when no gateway answers DNS (ferryd runs no `--gateway`).
    public var dns: DNSPart?

    /// The version for this content (everything but `version`).
    public static func digest(of map: NetworkMap) -> Int64 {
        var copy = map
        copy.version = 0
        let data = (try? FerryJSON.encoder().encode(copy)) ?? Data()
        let hash = SHA256.hash(data: data)
        var v: UInt64 = 0
        for b in hash.prefix(8) { v = v << 8 | UInt64(b) }
        return Int64(v >> 11)
    }
}

extension PolicyCompiler {
    /// A peer's network map at `now`. A gateway's includes its interface peers and firewall.
    public func networkMap(for peer: Peer, interface: String = "wg0", at now: Millis) -> NetworkMap {
        let network = topology.network
        let gateway = topology.gateways.first { $0.peerID == peer.id }
        let isActive = peer.enabled && !isExpired(peer, at: now)
        let entries = !isActive ? [] : gateway != nil
            ? interfacePeers(ofGateway: peer.id, at: now) : entries(for: peer, at: now)
        var gatewayPart: NetworkMap.GatewayPart?
        if let gateway {
            gatewayPart = NetworkMap.GatewayPart(
                listenPort: Int(gateway.listenPort), subnets: gateway.subnets.map(\.description),
                masquerade: gateway.masquerade,
                nftables: NFTablesRenderer.render(firewall(ofGateway: peer.id, interface: interface, at: now)))
        }
        var map = NetworkMap(
            version: 0, peerID: peer.id, name: peer.name, enabled: isActive,
            expiresAt: peer.expiresAt.map { Date(timeIntervalSince1970: Double($0) / 1000) },
            interface: .init(addresses: plan.interfaceAddresses(peer.ipv4, prefixLength: gateway != nil).map(\.description),
                             dns: (peer.dns ?? network.dns).map(\.description), mtu: peer.mtu ?? network.mtu,
                             listenPort: gateway.map { Int($0.listenPort) }, publicKey: peer.publicKey.base64),
            peers: entries.map { e in
                NetworkMap.Entry(id: e.peerID, name: e.name, role: e.role.rawValue, publicKey: e.publicKey.base64,
                                 endpoint: e.endpoint?.description, allowedIPs: e.allowedIPs.map(\.description),
                                 persistentKeepalive: e.persistentKeepalive, inbound: e.inbound, outbound: e.outbound,
                                 inboundPorts: e.inboundPorts?.map(\.description), outboundPorts: e.outboundPorts?.map(\.description),
                                 standbyFor: e.standbyFor?.map(\.description),
                                 candidates: e.role == .mesh ? e.candidates.map(\.description) : nil)
            },
            gateway: gatewayPart,
            dns: gateway == nil ? dnsServer.map { .init(server: $0.description, zone: network.zone.key) } : nil)
        map.version = NetworkMap.digest(of: map)
        return map
    }

    /// The wg-quick file of a peer (no private key unless one is given).
    public func peerConfig(for peer: Peer, privateKey: PrivateKey? = nil, at now: Millis) -> WGQuickConfig {
        var iface = WGQuickConfig.Interface()
        iface.privateKey = privateKey
        iface.addresses = plan.interfaceAddresses(peer.ipv4)
        iface.dns = dnsLine(for: peer)
        iface.mtu = peer.mtu ?? topology.network.mtu
        let peers = entries(for: peer, at: now).map { e -> WGQuickConfig.Peer in
            var p = WGQuickConfig.Peer(publicKey: e.publicKey)
            p.allowedIPs = e.allowedIPs
            p.endpoint = e.endpoint
            p.persistentKeepalive = e.persistentKeepalive
            p.comment = "\(e.role.rawValue) \(e.name)"
            if let standby = e.standbyFor {
                // wg-quick cannot give one prefix to two peers: the standby is listed, and
                // taking over is a manual edit (docs/deploy.md, "Two gateways").
                p.comment = "gateway \(e.name), standby for \(standby.map(\.description).joined(separator: ", ")): move those to this peer's AllowedIPs if the active gateway fails"
            }
            return p
        }
        return WGQuickConfig(interface: iface, peers: peers,
                             comment: ["ferry network \(topology.network.name): peer \(peer.name) (\(peer.id))"])
    }

    /// The wg-quick file of a gateway: its peers, and hooks loading its nftables rules
    /// from `/etc/wireguard/IFNAME.nft` (write `firewall(...)` rendered there).
    public func gatewayConfig(for gatewayID: String, interface: String, privateKey: PrivateKey? = nil, at now: Millis) -> WGQuickConfig? {
        guard let g = topology.gateways.first(where: { $0.peerID == gatewayID }),
              let peer = topology.peers.first(where: { $0.id == gatewayID }) else { return nil }
        var iface = WGQuickConfig.Interface()
        iface.privateKey = privateKey
        iface.addresses = plan.interfaceAddresses(peer.ipv4, prefixLength: true)
        iface.listenPort = g.listenPort
        iface.mtu = topology.network.mtu
        let table = FirewallPlan.tableName(interface)
        iface.preUp = ["sysctl -q -w net.ipv4.ip_forward=1", "sysctl -q -w net.ipv6.conf.all.forwarding=1"]
        iface.postUp = ["nft -f /etc/wireguard/%i.nft"]
        iface.postDown = ["nft delete table inet \(table)"]
        let peers = interfacePeers(ofGateway: gatewayID, at: now).map { e -> WGQuickConfig.Peer in
            var p = WGQuickConfig.Peer(publicKey: e.publicKey)
            p.allowedIPs = e.allowedIPs
            p.comment = e.name
            return p
        }
        return WGQuickConfig(interface: iface, peers: peers,
                             comment: ["ferry network \(topology.network.name): gateway \(peer.name) (\(peer.id))"])
    }
}

import WireGuard

/// One WireGuard peer entry as a device or gateway should configure it.
public struct PeerEntry: Sendable, Equatable {
    public enum Role: String, Sendable, Codable { case gateway, mesh, peer }
    public var peerID: String
    public var name: String
    public var role: Role
    public var publicKey: PublicKey
    public var endpoint: HostPort?
    public var allowedIPs: [IPPrefix]
    public var persistentKeepalive: Int?
    /// Mesh only: whether this peer may open connections to me / I to it.
    public var inbound: Bool?
    public var outbound: Bool?
    /// Mesh only: when a direction is allowed for some ports only, those ports (nil: all).
    public var inboundPorts: [PortSpec]? = nil
    public var outboundPorts: [PortSpec]? = nil
    /// Gateways only: subnets it serves that another gateway carries now (failover).
    public var standbyFor: [IPPrefix]? = nil
    /// Mesh only: where the other side may be reached, best first (`Peer.meshCandidates`).
    public var candidates: [HostPort] = []
}

/// Turns a `Topology` into what each peer and gateway configures. The same reachability
/// relation feeds both the AllowedIPs and the firewall, so routing and access control
/// cannot disagree: AllowedIPs route every prefix a connection may need (both directions,
/// for replies), and the gateway's stateful firewall admits only the allowed direction.
///
/// Gateways: the oldest gateway is the hub that carries traffic between peers; each
/// gateway carries its own subnets; the oldest masquerading gateway is the egress for
/// full-tunnel peers (the hub when none masquerades).
public struct PolicyCompiler: Sendable {
    public let topology: Topology
    let plan: AddressPlan
    let segmentsByID: [String: Segment]
    /// Boxed, so a patch copies this index with one retain per entry, not a copy of each
    /// peer's many fields (PolicyCompiler+Patch.swift).
    let peersByID: [String: PeerRef]
    let rulesByFrom: [String: [PolicyRule]]
    public let gateways: [(peer: Peer, gateway: Gateway)]
    /// The mesh members (not gateways), in `topology.peers` order: a mesh peer's map looks
    /// at these only, not at every peer (PolicyCompiler+Patch.swift keeps it current).
    let meshMembers: [Peer]
    /// Whether `topology.peers` is in `peerOrder` (always, as the store loads it), so a
    /// patch can find a peer's place by binary search.
    let inPeerOrder: Bool

    /// The peers keep the order given; the store loads them in `peerOrder`, the order a
    /// patch keeps (PolicyCompiler+Patch.swift), so a map's lists (and so its version) are
    /// the same whether its compiler was loaded or patched, on any engine or replica.
    public init(_ topology: Topology) {
        self.init(topology, peersByID: Dictionary(topology.peers.map { ($0.id, PeerRef($0)) }, uniquingKeysWith: { a, _ in a }),
                  meshMembers: topology.peers.filter(Self.isMeshMember), inPeerOrder: Self.inPeerOrder(topology.peers))
    }

    /// `peersByID` must index `topology.peers`, `meshMembers` be its mesh members in its order.
    init(_ topology: Topology, peersByID: [String: PeerRef], meshMembers: [Peer], inPeerOrder: Bool) {
        self.topology = topology
        plan = topology.network.plan
        segmentsByID = Dictionary(topology.segments.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        self.peersByID = peersByID
        rulesByFrom = Dictionary(grouping: topology.rules, by: \.from)
        gateways = topology.gateways.compactMap { g in peersByID[g.peerID].map { ($0.peer, g) } }
            .filter { $0.0.enabled }
            .sorted { Self.peerOrder($0.0, $1.0) }
        self.meshMembers = meshMembers
        self.inPeerOrder = inPeerOrder
    }

    /// The canonical order of peers: oldest first, then by id.
    public static func peerOrder(_ a: Peer, _ b: Peer) -> Bool { (a.createdAt, a.id) < (b.createdAt, b.id) }

    /// The peer with this id, if the topology holds it.
    public func peer(id: String) -> Peer? { peersByID[id]?.peer }
}

/// A peer in a box (the compiler's index by id).
final class PeerRef: Sendable {
    let peer: Peer
    init(_ peer: Peer) { self.peer = peer }
}

extension PolicyCompiler {
    /// The gateway that carries peer-to-peer traffic: the oldest that is up (the oldest
    /// when none is), so the overlay fails over with the subnets.
    public var hub: (peer: Peer, gateway: Gateway)? { gateways.first { $0.gateway.up } ?? gateways.first }

    /// The gateway full-tunnel peers send everything to.
    public var egress: (peer: Peer, gateway: Gateway)? {
        gateways.first { $0.gateway.masquerade && $0.gateway.up } ?? gateways.first { $0.gateway.masquerade } ?? hub
    }

    /// Peers that are on the network now: enabled, not gateways, not expired at `now`.
    public func activePeers(at now: Millis) -> [Peer] {
        topology.peers.filter { $0.kind != .gateway && $0.enabled && !isExpired($0, at: now) }
    }

    public func isExpired(_ peer: Peer, at now: Millis) -> Bool {
        if let e = peer.expiresAt { return e <= now }
        return false
    }

    // MARK: Reachability

    /// The prefixes of a segment (IPv4 and its IPv6 mirror).
    public func prefixes(ofSegment id: String) -> [IPPrefix] {
        guard let s = segmentsByID[id] else { return [] }
        return plan.prefixes(s.ipv4)
    }

    /// Where peers of `segment` may open connections, by the rules alone.
    public func destinations(ofSegment segment: String) -> [IPPrefix] {
        var out: [IPPrefix] = []
        for rule in rulesByFrom[segment] ?? [] { out += routedTarget(rule) ?? [] }
        return PrefixSet.collapse(out)
    }

    /// The prefixes a rule's target covers in the overlay or the internal subnets; nil for
    /// a gateway-host target (every peer already routes each gateway's own address).
    public func routedTarget(_ rule: PolicyRule) -> [IPPrefix]? {
        switch rule.to {
        case .segment(let id): return prefixes(ofSegment: id)
        case .subnet(let p): return [p]
        case .gateway: return nil
        }
    }

    /// Where `peer` may open connections: its segment's destinations, narrowed by its own
    /// restriction if it has one.
    public func destinations(of peer: Peer) -> [IPPrefix] {
        let d = destinations(ofSegment: peer.segmentID)
        guard let r = peer.restrictTo else { return d }
        return PrefixSet.intersect(d, r)
    }

    /// Segments whose peers may open connections into `segment` (replies must route back).
    public func sources(intoSegment segment: String) -> [IPPrefix] {
        var out: [IPPrefix] = []
        for rule in topology.rules where rule.to == .segment(segment) {
            out += prefixes(ofSegment: rule.from)
        }
        return PrefixSet.collapse(out)
    }

    /// True when a peer of segment `a` may open a connection to `peer` b.
    public func allows(_ a: Peer, to b: Peer) -> Bool { access(a, to: b) != nil }

    /// What `a` may open towards `b`: the union of the ports of every rule of a's segment
    /// whose target holds b (within a's own restriction); nil: nothing.
    public func access(_ a: Peer, to b: Peer) -> PortAccess? {
        let hosts = plan.hostPrefixes(b.ipv4)
        if let r = a.restrictTo, !hosts.contains(where: { h in r.contains { $0.contains(h) } }) { return nil }
        let grants = (rulesByFrom[a.segmentID] ?? []).filter { rule in
            guard let t = routedTarget(rule) else { return false }
            return hosts.contains { h in t.contains { $0.contains(h) } }
        }.map(\.ports)
        return PortAccess.union(grants)
    }

    // MARK: A peer's view

    /// The WireGuard peers `peer` configures: every gateway (with the prefixes it routes for
    /// this peer) and, for mesh members, the mesh peers policy lets it talk to.
    public func entries(for peer: Peer, at now: Millis) -> [PeerEntry] {
        let keepalive = effectiveKeepalive(peer)
        let dest = destinations(of: peer)
        let back = sources(intoSegment: peer.segmentID)
        var out: [PeerEntry] = []
        let hubID = hub?.peer.id, active = activeGateways
        for g in gateways where g.peer.id != peer.id {
            var allowed = plan.hostPrefixes(g.peer.ipv4)
            let carried = g.gateway.subnets.filter { active[$0] == g.peer.id }
            allowed += PrefixSet.intersect(dest, carried)
            if g.peer.id == hubID {
                // The hub routes the overlay: destinations inside the network, and the
                // segments that may reach us (for their replies and connections).
                let overlay = plan.prefixes(plan.ipv4)
                allowed += PrefixSet.intersect(dest, overlay) + back
            }
            if peer.tunnel == .full, g.peer.id == egress?.peer.id {
                allowed += PrefixSet.everything
            }
            let standby = PrefixSet.intersect(dest, g.gateway.subnets.filter { active[$0] != g.peer.id })
            out.append(PeerEntry(peerID: g.peer.id, name: g.peer.name, role: .gateway, publicKey: g.peer.publicKey,
                                 endpoint: g.gateway.endpoint, allowedIPs: PrefixSet.collapse(allowed),
                                 persistentKeepalive: keepalive, inbound: nil, outbound: nil,
                                 standbyFor: standby.isEmpty ? nil : standby))
        }
        guard peer.mesh, peer.kind != .gateway else { return out }
        for other in meshMembers where other.id != peer.id && other.enabled && !isExpired(other, at: now) {
            let outbound = access(peer, to: other), inbound = access(other, to: peer)
            let candidates = other.meshCandidates
            guard outbound != nil || inbound != nil, !candidates.isEmpty || !peer.meshCandidates.isEmpty else { continue }
            out.append(PeerEntry(peerID: other.id, name: other.name, role: .mesh, publicKey: other.publicKey,
                                 endpoint: candidates.first, allowedIPs: plan.hostPrefixes(other.ipv4),
                                 persistentKeepalive: keepalive, inbound: inbound != nil, outbound: outbound != nil,
                                 inboundPorts: inbound?.specs, outboundPorts: outbound?.specs, candidates: candidates))
        }
        return out
    }

    public func effectiveKeepalive(_ peer: Peer) -> Int? {
        let k = peer.keepalive ?? topology.network.keepalive
        return k > 0 ? k : nil
    }

    // MARK: A gateway's view

    /// The peers a gateway's interface holds: every active peer, with its own addresses.
    public func interfacePeers(ofGateway gatewayID: String, at now: Millis) -> [PeerEntry] {
        guard gateways.contains(where: { $0.peer.id == gatewayID }) else { return [] }
        return activePeers(at: now).map { p in
            PeerEntry(peerID: p.id, name: p.name, role: .peer, publicKey: p.publicKey, endpoint: nil,
                      allowedIPs: plan.hostPrefixes(p.ipv4), persistentKeepalive: nil, inbound: nil, outbound: nil)
        }
    }

    /// The firewall of a gateway: what may be forwarded from its WireGuard interface, what
    /// may reach the gateway host itself, and when ephemeral peers' access ends.
    /// `services`: ports the host opens to every peer by construction (the coordinator's
    /// API, DNS) when ferryd runs there.
    public func firewall(ofGateway gatewayID: String, interface: String, at now: Millis, services: [PortSpec] = []) -> FirewallPlan {
        guard let index = gateways.firstIndex(where: { $0.peer.id == gatewayID }) else {
            return FirewallPlan.closed(interface: interface, services: services)
        }
        let g = gateways[index]
        let isHub = g.peer.id == hub?.peer.id
        let overlay = plan.prefixes(plan.ipv4)
        let routed = PrefixSet.collapse(g.gateway.subnets + (isHub ? overlay : []))
        let gatewayHost = plan.hostPrefixes(g.peer.ipv4)
        var rules: [FirewallRule] = [], hostRules: [FirewallRule] = []
        let active = activePeers(at: now)
        // Restricted peers first: their own narrower list, then nothing else.
        for p in active where p.restrictTo != nil {
            let src = plan.hostPrefixes(p.ipv4), restriction = p.restrictTo ?? []
            let label = "peer \(p.name) (restricted)"
            for rule in rulesByFrom[p.segmentID] ?? [] {
                if let target = routedTarget(rule) {
                    let dst = PrefixSet.intersect(PrefixSet.intersect(target, restriction), routed)
                    if !dst.isEmpty {
                        rules.append(FirewallRule(sources: src, destinations: dst, action: .accept, comment: label, ports: rule.ports))
                    }
                } else if rule.to == .gateway(g.peer.id), !PrefixSet.intersect(gatewayHost, restriction).isEmpty {
                    hostRules.append(FirewallRule(sources: src, destinations: nil, action: .accept, comment: label, ports: rule.ports))
                }
            }
            rules.append(FirewallRule(sources: src, destinations: nil, action: .drop, comment: label))
            hostRules.append(FirewallRule(sources: src, destinations: nil, action: .drop, comment: label))
        }
        for rule in topology.rules {
            let src = prefixes(ofSegment: rule.from)
            guard !src.isEmpty else { continue }
            let from = segmentsByID[rule.from]?.name ?? rule.from
            switch rule.to {
            case .gateway(let id):
                guard id == g.peer.id else { continue }
                hostRules.append(FirewallRule(sources: src, destinations: nil, action: .accept,
                                              comment: "rule \(rule.id): \(from) -> gateway \(g.peer.name)", ports: rule.ports))
            case .segment, .subnet:
                let target = routedTarget(rule) ?? []
                let dst = PrefixSet.intersect(target, routed)
                guard !dst.isEmpty else { continue }
                let label: String
                if case .segment(let id) = rule.to { label = segmentsByID[id]?.name ?? id } else { label = target.map(\.description).joined(separator: ",") }
                rules.append(FirewallRule(sources: src, destinations: dst, action: .accept, comment: "rule \(rule.id): \(from) -> \(label)",
                                          ports: rule.ports))
            }
        }
        if g.peer.id == egress?.peer.id {
            let full = active.filter { $0.tunnel == .full && $0.restrictTo == nil }.flatMap { plan.hostPrefixes($0.ipv4) }
            if !full.isEmpty {
                let internalRanges = PrefixSet.collapse(overlay + gateways.flatMap(\.gateway.subnets))
                rules.append(FirewallRule(sources: full, destinations: nil, excluding: internalRanges, action: .accept,
                                          comment: "full-tunnel egress"))
            }
        }
        let expiries = active.compactMap { p in
            p.expiresAt.map { FirewallExpiry(addresses: plan.hostPrefixes(p.ipv4), at: $0, comment: "peer \(p.name) expired") }
        }
        return FirewallPlan(interface: interface, overlay: overlay, masquerade: g.gateway.masquerade, rules: rules,
                            hostRules: hostRules, services: services, expiries: expiries)
    }
}

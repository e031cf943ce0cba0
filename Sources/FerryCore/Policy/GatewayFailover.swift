import WireGuard

/// Which gateway carries each internal subnet when several serve it. A subnet is the same
/// when its prefix is the same: different prefixes (a /16 on one gateway, a /24 inside it
/// on another) are different subnets and route by longest match, as before failover
/// existed. Among the enabled gateways that list a prefix, the carrier is the first by
/// (up before down, lower priority, older, id): a down gateway keeps a subnet only when
/// every gateway of that subnet is down, so routes never vanish for want of a better one.
///
/// The coordinator decides `up` (heartbeats and hold-down, FerryServer's
/// GatewayLiveness), so this stays a pure function of the topology: the map changes, and
/// every agent's long poll wakes, exactly when a verdict changes.
extension PolicyCompiler {
    /// Each served prefix → the peer id of the gateway that carries it now.
    public var activeGateways: [IPPrefix: String] {
        var best: [IPPrefix: (peer: Peer, gateway: Gateway)] = [:]
        for g in gateways {
            for s in g.gateway.subnets {
                if let current = best[s], !Self.precedes(g, current) { continue }
                best[s] = g
            }
        }
        return best.mapValues(\.peer.id)
    }

    static func precedes(_ a: (peer: Peer, gateway: Gateway), _ b: (peer: Peer, gateway: Gateway)) -> Bool {
        if a.gateway.up != b.gateway.up { return a.gateway.up }
        if a.gateway.priority != b.gateway.priority { return a.gateway.priority < b.gateway.priority }
        return (a.peer.createdAt, a.peer.id) < (b.peer.createdAt, b.peer.id)
    }
}

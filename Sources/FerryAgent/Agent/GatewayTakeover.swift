import FerryCore

/// Gateway failover on the agent's side. The coordinator moves a subnet's prefixes from
/// one gateway's entry to another's in the map (FerryCore's GatewayFailover.swift); the
/// agent applies that like any change. One thing more is needed: the gateway taking over
/// may have restarted since this machine last spoke to it (a gateway that returns after
/// a crash), and then the session this machine still holds for it is unknown there, so
/// traffic would be dropped until WireGuard's own timers start a new handshake, 15 s or
/// more later. So a gateway that takes over prefixes is first removed and added back,
/// which starts a fresh handshake with the first packet (one round trip).
enum GatewayTakeover {
    /// Public keys of the gateway entries in `next` that gain a prefix another gateway
    /// entry of `previous` routed.
    static func takingOver(previous: NetworkMap?, next: NetworkMap) -> Set<String> {
        guard let previous, previous.enabled, next.enabled else { return [] }
        var owner: [String: String] = [:]
        for e in previous.peers where e.role == "gateway" {
            for p in e.allowedIPs { owner[p] = e.publicKey }
        }
        var out = Set<String>()
        for e in next.peers where e.role == "gateway" {
            if e.allowedIPs.contains(where: { p in owner[p].map { $0 != e.publicKey } ?? false }) { out.insert(e.publicKey) }
        }
        return out
    }

    /// `previous` without the entries of `keys`: applied first, it drops their sessions
    /// and nothing else.
    static func interim(_ previous: NetworkMap, without keys: Set<String>) -> NetworkMap {
        var m = previous
        m.peers.removeAll { keys.contains($0.publicKey) }
        return m
    }
}

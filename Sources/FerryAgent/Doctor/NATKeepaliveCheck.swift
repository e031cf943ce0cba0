import FerryCore
import WireGuard

/// A peer behind NAT needs persistent keepalive: the gateway reaches it only through the
/// NAT's mapping, which expires when the tunnel is idle (often after 30–120 s of no UDP),
/// after which nothing the gateway sends arrives until this side speaks again.
///
/// Behind NAT means: the endpoint the gateway saw our packets come from (the coordinator's
/// `seenEndpoint`) is not one of this machine's own addresses with the interface's port.
public struct NATKeepaliveCheck: DoctorCheck {
    public let name = "nat-keepalive"
    let local: InterfaceSnapshot
    let coordinator: CoordinatorView
    /// This machine's addresses outside the tunnel.
    let hostAddresses: [IPAddress]

    public init(local: InterfaceSnapshot, coordinator: CoordinatorView, hostAddresses: [IPAddress]) {
        self.local = local
        self.coordinator = coordinator
        self.hostAddresses = hostAddresses
    }

    public func run() async -> DoctorResult {
        guard let peer = coordinator.peer else { return skip("the coordinator's record of this peer could not be read") }
        guard let seenText = peer.seenEndpoint, let seen = HostPort(seenText), let seenAddress = seen.address else {
            return skip("the gateway has not seen this peer's endpoint yet (no handshake reported)")
        }
        let port = local.device.listenPort
        let ownAddress = hostAddresses.contains(seenAddress)
        let natted = !ownAddress || (port != 0 && seen.port != port)
        let dialled = coordinator.peers.compactMap { m -> (MapPeer, UAPIPeerStatus)? in
            guard m.endpoint != nil, let key = m.publicKey, let have = local.peer(key) else { return nil }
            return (m, have)
        }
        guard natted else {
            return pass("not behind NAT: the gateway sees \(seen), this machine's own address and port")
        }
        let why = ownAddress ? "port \(seen.port), not \(local.name)'s \(port)" : "\(seenAddress) is not an address of this machine"
        let without = dialled.filter { $0.1.persistentKeepaliveInterval == 0 }
        guard !without.isEmpty else {
            let k = dialled.map { "\($0.1.persistentKeepaliveInterval) s" }.joined(separator: ", ")
            return pass("behind NAT (the gateway sees \(seen): \(why)); persistent keepalive (\(k.isEmpty ? "n/a" : k)) keeps the mapping open")
        }
        let interval = coordinator.peers.compactMap(\.entry.persistentKeepalive).first ?? 25
        return warn("behind NAT (the gateway sees \(seen): \(why)) without persistent keepalive to \(without.map(\.0.entry.name).joined(separator: ", ")): "
                    + "once idle, the NAT forgets the mapping and traffic from the other side stops arriving",
                    fix: without.map { m, p in
                        "add PersistentKeepalive = \(interval) to the [Peer] of \(m.entry.name): "
                            + "`wg set \(local.name) peer \(p.publicKey.base64) persistent-keepalive \(interval)` (`ferry up` applies the coordinator's)"
                    })
    }
}

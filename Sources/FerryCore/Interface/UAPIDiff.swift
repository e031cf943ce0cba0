import WireGuard

/// The `set=1` request that turns an interface's current state into a configuration,
/// touching only what differs: unchanged peers keep their sessions, a peer whose allowed
/// IPs changed gets exactly the new list, peers not in the configuration are removed.
/// nil when nothing differs.
public enum UAPIDiff {
    public static func request(from current: UAPIDeviceStatus, to desired: WGQuickConfig) -> UAPISetRequest? {
        var set = UAPISetRequest()
        if let key = desired.interface.privateKey, current.privateKey?.publicKey != key.publicKey {
            set.device.append(.privateKey(key))
        }
        if let port = desired.interface.listenPort, port != current.listenPort {
            set.device.append(.listenPort(port))
        }
        let wanted = Dictionary(desired.peers.map { ($0.publicKey, $0) }, uniquingKeysWith: { a, _ in a })
        for peer in current.peers where wanted[peer.publicKey] == nil {
            set.peers.append(.init(publicKey: peer.publicKey, changes: [.remove]))
        }
        let existing = Dictionary(current.peers.map { ($0.publicKey, $0) }, uniquingKeysWith: { a, _ in a })
        for peer in desired.peers {
            var changes: [UAPISetRequest.PeerChange] = []
            let now = existing[peer.publicKey]
            let allowed = peer.allowedIPs.map(\.network)
            if now == nil || Set(now?.allowedIPs.map(\.network) ?? []) != Set(allowed) {
                changes.append(.replaceAllowedIPs)
                changes += allowed.map { .addAllowedIP($0) }
            }
            let keepalive = UInt16(clamping: peer.persistentKeepalive ?? 0)
            if (now?.persistentKeepaliveInterval ?? 0) != keepalive {
                changes.append(.persistentKeepaliveInterval(keepalive))
            }
            if now?.presharedKey != peer.presharedKey {
                changes.append(.presharedKey(peer.presharedKey ?? PresharedKey(rawValue: .zero)))
            }
            // Only literal addresses go over the UAPI; a name is resolved by the peer's own tools.
            if let e = peer.endpoint, let address = e.address {
                let endpoint = Endpoint(address: address, port: e.port)
                if now?.endpoint != endpoint { changes.append(.endpoint(endpoint)) }
            }
            if now == nil || !changes.isEmpty {
                set.peers.append(.init(publicKey: peer.publicKey, changes: changes))
            }
        }
        return set.device.isEmpty && set.peers.isEmpty ? nil : set
    }

    /// The interface's peers as the gateway sync reports them.
    public static func peerStatus(_ status: UAPIDeviceStatus) -> [InterfacePeerStatus] {
        status.peers.map {
            InterfacePeerStatus(publicKey: $0.publicKey, endpoint: $0.endpoint.map(HostPort.init), allowedIPs: $0.allowedIPs,
                                latestHandshake: $0.lastHandshakeTimeSec, rxBytes: Int64(clamping: $0.rxBytes),
                                txBytes: Int64(clamping: $0.txBytes))
        }
    }
}

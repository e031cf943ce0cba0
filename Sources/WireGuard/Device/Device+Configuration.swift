/// A snapshot of one peer for `wg show` / the UAPI `get`.
public struct PeerStatus: Equatable, Sendable {
    public var id: PeerID
    public var publicKey: PublicKey
    public var presharedKey: PresharedKey?
    public var endpoint: Endpoint?
    public var persistentKeepaliveInterval: UInt16
    public var allowedIPs: [IPPrefix]
    public var rxBytes: UInt64
    public var txBytes: UInt64
    /// Wall-clock time of the last completed handshake, nanoseconds since 1970 (0 = never).
    public var lastHandshakeUnixNanoseconds: Int64
    /// True while a session that can carry data exists.
    public var hasSession: Bool
}

extension Device {
    /// Sets (or with nil removes) the private key. A peer whose public key equals the new
    /// public key is removed (a device cannot be its own peer); every session is expired so the
    /// next packet starts a handshake under the new identity (as wireguard-go does).
    public mutating func setPrivateKey(_ key: PrivateKey?) {
        if key == identity?.privateKey { return }
        identity = key.map(StaticIdentity.init(privateKey:))
        cookieChecker.setLocalPublicKey(identity?.publicKey)
        if let own = identity?.publicKey, let clash = peersByKey[own] {
            removePeer(clash)
        }
        for id in order {
            guard let peer = peer(id) else { continue }
            clearHandshake(of: peer)
            peer.handshake.precompute(identity: identity)
            for kp in peer.keypairs.removeAll() { release(kp) }
            peer.lastSentHandshake = nil
        }
    }

    /// Adds a peer. nil when the key is our own public key, already present, or the device
    /// is full.
    public mutating func addPeer(_ publicKey: PublicKey) -> PeerID? {
        guard peersByKey[publicKey] == nil, publicKey != identity?.publicKey,
              order.count < WireGuardConstants.maxPeers else { return nil }
        let raw: UInt32
        if let free = freeSlots.popLast() {
            raw = free
        } else {
            raw = UInt32(slots.count)
            slots.append(nil)
        }
        let id = PeerID(rawValue: raw)
        slots[Int(raw)] = Peer(id: id, publicKey: publicKey, identity: identity)
        peersByKey[publicKey] = id
        order.append(id)
        return id
    }

    /// Removes a peer with all its sessions, indices, allowed IPs and waiting packets.
    public mutating func removePeer(_ id: PeerID) {
        guard release(id) else { return }
        allowedIPs.removeAll(value: id)
        order.removeAll { $0 == id }
    }

    /// replace_peers: every peer released, then the trie and the order emptied at once
    /// (peer by peer would walk them once per peer, with the core locked).
    public mutating func removeAllPeers() {
        for id in order { release(id) }
        order.removeAll()
        allowedIPs = AllowedIPs()
    }

    /// A peer's sessions, indices, waiting packets, key and slot given up; its allowed IPs
    /// and place in `order` are the caller's to remove. False when there is no such peer.
    @discardableResult
    private mutating func release(_ id: PeerID) -> Bool {
        guard let peer = peer(id) else { return false }
        zeroKeyMaterial(of: peer)
        peer.staged.removeAll()
        peer.timers.stopAll()
        peersByKey[peer.publicKey] = nil
        slots[Int(id.rawValue)] = nil
        freeSlots.append(id.rawValue)
        return true
    }

    public mutating func setPresharedKey(_ key: PresharedKey?, for id: PeerID) {
        // The all-zero key means "none", as in wg and the UAPI.
        peer(id)?.presharedKey = (key?.isZero ?? true) ? nil : key
    }

    public mutating func setEndpoint(_ endpoint: Endpoint?, for id: PeerID) {
        peer(id)?.endpoint = endpoint
    }

    /// Sets the persistent-keepalive interval in seconds (0 = off). Turning it on sends a
    /// keepalive at once, which starts a handshake if there is no session (wireguard-go does
    /// the same, so a peer behind NAT becomes reachable without waiting for traffic).
    public mutating func setPersistentKeepalive(_ seconds: UInt16, for id: PeerID, now: Instant, send: SendDatagram) {
        guard let peer = peer(id) else { return }
        let old = peer.persistentKeepaliveInterval
        peer.persistentKeepaliveInterval = seconds
        if seconds == 0 {
            peer.timers.persistentKeepalive = nil
        } else if old == 0 {
            sendKeepalive(peer, now: now, send: send)
        }
    }

    /// Adds an allowed prefix for a peer (host bits masked), taking it from any other peer.
    public mutating func addAllowedIP(_ prefix: IPPrefix, for id: PeerID) {
        guard peer(id) != nil else { return }
        allowedIPs.insert(prefix, value: id)
    }

    public mutating func removeAllowedIPs(of id: PeerID) {
        allowedIPs.removeAll(value: id)
    }

    public func status(of id: PeerID, now: Instant) -> PeerStatus? {
        guard let p = peer(id) else { return nil }
        return PeerStatus(id: id, publicKey: p.publicKey, presharedKey: p.presharedKey, endpoint: p.endpoint,
                          persistentKeepaliveInterval: p.persistentKeepaliveInterval,
                          allowedIPs: allowedIPs.prefixes(of: id), rxBytes: p.rxBytes, txBytes: p.txBytes,
                          lastHandshakeUnixNanoseconds: p.lastHandshakeUnixNanoseconds,
                          hasSession: p.sendingKeypair(now: now) != nil)
    }

    public func statuses(now: Instant) -> [PeerStatus] {
        order.compactMap { status(of: $0, now: now) }
    }
}

extension PrivateKey {
    /// The key with RFC 7748's clamping applied, as wireguard-go and the kernel store it.
    public var clamped: PrivateKey {
        var raw = rawValue
        raw.withUnsafeMutableBytes { b in
            b[0] &= 248
            b[31] = (b[31] & 127) | 64
        }
        return PrivateKey(rawValue: raw)
    }
}

/// What the I/O layer must carry out after a UAPI `set` was applied to the device.
public struct UAPIApplied: Equatable, Sendable {
    /// A new listen port to bind (0 = pick one), when the request set one.
    public var listenPort: UInt16?
    /// A new fwmark for the sockets, when the request set one.
    public var fwmark: UInt32?
}

extension Device {
    /// Applies a parsed (hence already validated) `set=1` request with wireguard-go's
    /// semantics. It cannot fail: anything that could was rejected by the parser, and the I/O
    /// layer binds a new listen port before calling this.
    @discardableResult
    public mutating func apply(_ request: UAPISetRequest, now: Instant, send: SendDatagram) -> UAPIApplied {
        var applied = UAPIApplied()
        for change in request.device {
            switch change {
            case .privateKey(let key):
                setPrivateKey(key.isZero ? nil : key.clamped)
            case .listenPort(let port):
                listenPort = port
                applied.listenPort = port
            case .fwmark(let mark):
                fwmark = mark
                applied.fwmark = mark
            case .replacePeers:
                removeAllPeers()
            }
        }
        for peerRequest in request.peers {
            applyPeer(peerRequest, now: now, send: send)
        }
        return applied
    }

    private mutating func applyPeer(_ request: UAPISetRequest.Peer, now: Instant, send: SendDatagram) {
        // A peer with our own public key is accepted and ignored, as wireguard-go does.
        if request.publicKey == identity?.publicKey { return }
        var created = false
        var id: PeerID
        if let existing = peerID(for: request.publicKey) {
            id = existing
        } else {
            guard let new = addPeer(request.publicKey) else { return }
            id = new
            created = true
        }
        var keepalive: UInt16?
        for change in request.changes {
            switch change {
            case .remove:
                removePeer(id)
                return
            case .updateOnly:
                if created {
                    removePeer(id)
                    return
                }
            case .presharedKey(let key):
                setPresharedKey(key, for: id)
            case .endpoint(let endpoint):
                setEndpoint(endpoint, for: id)
            case .persistentKeepaliveInterval(let seconds):
                keepalive = seconds
            case .replaceAllowedIPs:
                removeAllowedIPs(of: id)
            case .addAllowedIP(let prefix):
                addAllowedIP(prefix, for: id)
            case .removeAllowedIP(let prefix):
                _ = allowedIPs.remove(prefix, value: id)
            case .protocolVersion:
                break
            }
        }
        // Last, so that a keepalive sent on turning it on goes to the endpoint just set.
        if let keepalive { setPersistentKeepalive(keepalive, for: id, now: now, send: send) }
    }

    /// The device as `get=1` reports it.
    public func uapiStatus(now: Instant) -> UAPIDeviceStatus {
        UAPIDeviceStatus(
            privateKey: identity?.privateKey, listenPort: listenPort, fwmark: fwmark,
            peers: statuses(now: now).map { s in
                UAPIPeerStatus(publicKey: s.publicKey, presharedKey: s.presharedKey, endpoint: s.endpoint,
                               lastHandshakeTimeSec: s.lastHandshakeUnixNanoseconds / 1_000_000_000,
                               lastHandshakeTimeNsec: s.lastHandshakeUnixNanoseconds % 1_000_000_000,
                               txBytes: s.txBytes, rxBytes: s.rxBytes,
                               persistentKeepaliveInterval: s.persistentKeepaliveInterval, allowedIPs: s.allowedIPs)
            })
    }
}

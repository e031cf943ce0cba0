extension Device {
    /// Runs every peer's due timers (kernel timers.c: the expired_* functions). Call it
    /// regularly (every 100 ms or at `nextTimerDeadline`).
    public mutating func updateTimers(now: Instant, send: SendDatagram) {
        if rateLimiterSweptAt.map({ now - $0 >= RateLimiter.idleTimeout }) ?? true {
            rateLimiter.collectGarbage(now: now)
            rateLimiterSweptAt = now
        }
        for id in order {
            guard let peer = peer(id) else { continue }
            while let kind = peer.timers.takeExpired(now: now) {
                timerExpired(kind, peer: peer, now: now, send: send)
            }
        }
    }

    /// The earliest moment any peer's timer is due.
    public var nextTimerDeadline: Instant? {
        order.compactMap { peer($0)?.timers.nextDeadline }.min()
    }

    private mutating func timerExpired(_ kind: PeerTimers.Kind, peer: Peer, now: Instant, send: SendDatagram) {
        switch kind {
        case .retransmitHandshake:
            if peer.timers.handshakeAttempts > WireGuardConstants.maxTimerHandshakes {
                // Give up: drop the waiting packets and, unless already planned, forget the
                // residue of the half-done exchange after 3 × REJECT_AFTER_TIME.
                peer.timers.sendKeepalive = nil
                peer.staged.removeAll()
                if peer.timers.zeroKeyMaterial == nil {
                    peer.timers.zeroKeyMaterial = now + WireGuardConstants.rejectAfterTime * 3
                }
            } else {
                peer.timers.handshakeAttempts += 1
                sendHandshakeInitiation(peer, isRetry: true, now: now, send: send)
            }
        case .sendKeepalive:
            sendKeepalive(peer, now: now, send: send)
            if peer.timers.needAnotherKeepalive {
                peer.timers.needAnotherKeepalive = false
                peer.timers.sendKeepalive = now + WireGuardConstants.keepaliveTimeout
            }
        case .newHandshake:
            sendHandshakeInitiation(peer, isRetry: false, now: now, send: send)
        case .zeroKeyMaterial:
            zeroKeyMaterial(of: peer)
        case .persistentKeepalive:
            if peer.persistentKeepaliveInterval > 0 { sendKeepalive(peer, now: now, send: send) }
        }
    }
}

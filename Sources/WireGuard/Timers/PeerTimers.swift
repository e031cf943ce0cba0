/// A peer's five protocol timers (whitepaper §6; kernel timers.c) as deadlines on the caller's
/// clock. The event hooks are named after the kernel's; `takeExpired` hands the due timers to
/// the device, which alone decides what follows.
struct PeerTimers {
    /// Retransmit the initiation if no response after REKEY_TIMEOUT + jitter.
    var retransmitHandshake: Instant?
    /// Send a keepalive if we received data but sent nothing for KEEPALIVE_TIMEOUT.
    var sendKeepalive: Instant?
    /// Start a handshake if we sent data but heard nothing for KEEPALIVE + REKEY_TIMEOUT.
    var newHandshake: Instant?
    /// Zero all keys after 3 × REJECT_AFTER_TIME without a new session.
    var zeroKeyMaterial: Instant?
    /// Send a keepalive after the persistent-keepalive interval without any traffic.
    var persistentKeepalive: Instant?

    var handshakeAttempts = 0
    var needAnotherKeepalive = false
    var sentLastMinuteHandshake = false

    enum Kind: CaseIterable {
        case retransmitHandshake, sendKeepalive, newHandshake, zeroKeyMaterial, persistentKeepalive
    }

    // MARK: Events

    /// After an authenticated data packet (not a keepalive) was sent.
    mutating func dataSent(now: Instant, jitter: Interval) {
        if newHandshake == nil {
            newHandshake = now + WireGuardConstants.keepaliveTimeout + WireGuardConstants.rekeyTimeout + jitter
        }
    }

    /// After an authenticated data packet (not a keepalive) was received.
    mutating func dataReceived(now: Instant) {
        if sendKeepalive == nil {
            sendKeepalive = now + WireGuardConstants.keepaliveTimeout
        } else {
            needAnotherKeepalive = true
        }
    }

    /// After any authenticated packet (data, keepalive or handshake) was sent.
    mutating func anyAuthenticatedPacketSent() {
        sendKeepalive = nil
    }

    /// After any authenticated packet was received.
    mutating func anyAuthenticatedPacketReceived() {
        newHandshake = nil
    }

    /// After a handshake initiation was sent.
    mutating func handshakeInitiated(now: Instant, jitter: Interval) {
        retransmitHandshake = now + WireGuardConstants.rekeyTimeout + jitter
    }

    /// After a response was consumed, or the first packet on a responder's new keypair arrived.
    mutating func handshakeComplete() {
        retransmitHandshake = nil
        handshakeAttempts = 0
        sentLastMinuteHandshake = false
    }

    /// After new session keys were derived.
    mutating func sessionDerived(now: Instant) {
        zeroKeyMaterial = now + WireGuardConstants.rejectAfterTime * 3
    }

    /// Before any authenticated packet is sent or after one is received.
    mutating func anyAuthenticatedPacketTraversal(now: Instant, persistentKeepaliveInterval: UInt16) {
        if persistentKeepaliveInterval > 0 {
            persistentKeepalive = now + .seconds(Int64(persistentKeepaliveInterval))
        }
    }

    /// Stops every timer (peer removed, or device down).
    mutating func stopAll() {
        retransmitHandshake = nil
        sendKeepalive = nil
        newHandshake = nil
        zeroKeyMaterial = nil
        persistentKeepalive = nil
    }

    // MARK: Expiry

    func deadline(_ kind: Kind) -> Instant? {
        switch kind {
        case .retransmitHandshake: retransmitHandshake
        case .sendKeepalive: sendKeepalive
        case .newHandshake: newHandshake
        case .zeroKeyMaterial: zeroKeyMaterial
        case .persistentKeepalive: persistentKeepalive
        }
    }

    /// The earliest pending deadline.
    var nextDeadline: Instant? {
        Kind.allCases.compactMap { deadline($0) }.min()
    }

    /// The earliest timer due at `now`, cleared (timers are one-shot, as in the kernel).
    mutating func takeExpired(now: Instant) -> Kind? {
        var due: (Kind, Instant)?
        for kind in Kind.allCases {
            if let d = deadline(kind), d <= now, due.map({ d < $0.1 }) ?? true { due = (kind, d) }
        }
        guard let (kind, _) = due else { return nil }
        switch kind {
        case .retransmitHandshake: retransmitHandshake = nil
        case .sendKeepalive: sendKeepalive = nil
        case .newHandshake: newHandshake = nil
        case .zeroKeyMaterial: zeroKeyMaterial = nil
        case .persistentKeepalive: persistentKeepalive = nil
        }
        return kind
    }
}

/// A session's transport keys (whitepaper §5.4.6), shared by reference with crypto workers.
///
/// The keys themselves are safe to use from several threads at once; every other field is
/// read and written only by the device's sequential stages (nonce assignment before sealing,
/// replay check after opening), which is why the class is `@unchecked Sendable`. The key
/// material is zeroed when the last reference goes away.
public final class Keypair: @unchecked Sendable {
    public let sendKey: TransportKey
    public let receiveKey: TransportKey
    public let created: Instant
    public let isInitiator: Bool
    public let localIndex: UInt32
    public let remoteIndex: UInt32
    /// The next counter to send with.
    var sendCounter: UInt64 = 0
    var replay = ReplayWindow()

    init(send: Bytes32, receive: Bytes32, created: Instant, isInitiator: Bool, localIndex: UInt32, remoteIndex: UInt32) {
        sendKey = TransportKey(send)
        receiveKey = TransportKey(receive)
        self.created = created
        self.isInitiator = isInitiator
        self.localIndex = localIndex
        self.remoteIndex = remoteIndex
    }

    /// True while this keypair may still encrypt: younger than REJECT_AFTER_TIME and below
    /// REJECT_AFTER_MESSAGES.
    func canSend(now: Instant) -> Bool {
        now - created < WireGuardConstants.rejectAfterTime && sendCounter < WireGuardConstants.rejectAfterMessages
    }

    /// True while packets on this keypair may still be accepted.
    func canReceive(now: Instant) -> Bool {
        now - created < WireGuardConstants.rejectAfterTime
    }
}

/// The previous, current and next keypairs of a peer (whitepaper §6.3; kernel noise_keypairs).
struct Keypairs {
    var previous: Keypair?
    var current: Keypair?
    /// A responder's new keypair waits here until the initiator's first packet on it confirms
    /// that the initiator has it too.
    var next: Keypair?

    /// Installs a new session. Returns the keypairs that dropped out, whose indices the caller
    /// must release.
    mutating func install(_ keypair: Keypair) -> [Keypair] {
        var dropped: [Keypair] = []
        if keypair.isInitiator {
            // The initiator has confirmation already (it consumed the response): use it now.
            if let n = next {
                next = nil
                if let p = previous { dropped.append(p) }
                previous = n
                if let c = current { dropped.append(c) }
            } else {
                if let p = previous { dropped.append(p) }
                previous = current
            }
            current = keypair
        } else {
            if let n = next { dropped.append(n) }
            next = keypair
            if let p = previous { dropped.append(p) }
            previous = nil
        }
        return dropped
    }

    /// Called for every authenticated packet received on `keypair`. When it is the `next`
    /// keypair, that confirms the session: rotate it into `current`. Returns true on rotation
    /// and the keypair that dropped out.
    mutating func receivedWith(_ keypair: Keypair) -> (rotated: Bool, dropped: Keypair?) {
        guard let n = next, n === keypair else { return (false, nil) }
        let dropped = previous
        previous = current
        current = n
        next = nil
        return (true, dropped)
    }

    /// Every keypair held (for clearing).
    var all: [Keypair] { [previous, current, next].compactMap { $0 } }

    mutating func removeAll() -> [Keypair] {
        let held = all
        previous = nil
        current = nil
        next = nil
        return held
    }
}

/// The local device's static identity.
public struct StaticIdentity: Sendable {
    public let privateKey: PrivateKey
    public let publicKey: PublicKey

    public init(privateKey: PrivateKey) {
        self.privateKey = privateKey
        self.publicKey = X25519.publicKey(for: privateKey)
    }
}

/// Why a handshake message was refused.
public enum HandshakeFailure: Error, Equatable, Sendable {
    /// An X25519 result was all zeros: a low-order key on the other side.
    case invalidKeyAgreement
    /// An AEAD tag did not verify.
    case decryptionFailed
    /// The initiation's timestamp is not newer than the last one accepted from this peer.
    case replayedTimestamp
    /// Initiations from this peer arrive faster than one per 20 ms.
    case flood
    /// The message does not fit the handshake's current state.
    case unexpectedState
    /// The local static and the peer's static key give an all-zero DH (or no private key).
    case noStaticStatic
}

/// One peer's handshake state (whitepaper §5.4; the kernel's `struct noise_handshake`).
/// Every `create…`/`consume…` either succeeds and commits, or fails and changes nothing.
struct Handshake {
    enum State: Equatable {
        case zeroed, createdInitiation, consumedInitiation, createdResponse, consumedResponse
    }

    private(set) var state: State = .zeroed
    let remoteStatic: PublicKey
    var presharedKey: Bytes32 = .zero
    /// DH(local static, remote static), computed when either key changes; nil when unusable.
    private(set) var staticStatic: Bytes32?
    private var symmetric: SymmetricState
    private var localEphemeral = PrivateKey(rawValue: .zero)
    private var remoteEphemeral = PublicKey(rawValue: .zero)
    private(set) var localIndex: UInt32 = 0
    private(set) var remoteIndex: UInt32 = 0
    /// The newest initiation timestamp accepted from this peer (replay protection).
    private(set) var latestTimestamp: TAI64N?
    private(set) var lastInitiationConsumption: Instant?

    init(remoteStatic: PublicKey, identity: StaticIdentity?) {
        self.remoteStatic = remoteStatic
        symmetric = SymmetricState(responderStatic: remoteStatic)
        precompute(identity: identity)
    }

    /// Recomputes the static-static DH after the local private key changed.
    mutating func precompute(identity: StaticIdentity?) {
        if let identity { staticStatic = X25519.sharedSecret(identity.privateKey, remoteStatic) } else { staticStatic = nil }
    }

    /// Forgets every ephemeral secret (the timestamp and flood guard survive, as in the kernel).
    mutating func clear() {
        state = .zeroed
        symmetric.chainingKey.zeroize()
        symmetric.hash.zeroize()
        localEphemeral = PrivateKey(rawValue: .zero)
        remoteEphemeral = PublicKey(rawValue: .zero)
        localIndex = 0
        remoteIndex = 0
    }

    // MARK: Initiator: create initiation (§5.4.2)

    mutating func createInitiation(identity: StaticIdentity, ephemeral: PrivateKey, localIndex: UInt32,
                                   timestamp: TAI64N) throws(HandshakeFailure) -> HandshakeInitiation {
        guard let ss = staticStatic else { throw .noStaticStatic }
        var s = SymmetricState(responderStatic: remoteStatic)
        let ephemeralPublic = X25519.publicKey(for: ephemeral)
        s.mixKey(ephemeralPublic.rawValue)
        s.mixHash(ephemeralPublic.rawValue)
        guard let es = X25519.sharedSecret(ephemeral, remoteStatic) else { throw .invalidKeyAgreement }
        var k = s.mixKeyForCipher(es)
        let encryptedStatic: FixedBytes<48> = s.encryptAndHash(key: k, identity.publicKey.rawValue)
        k = s.mixKeyForCipher(ss)
        let stamp = FixedBytes<12>(filling: { timestamp.write(to: $0) })
        let encryptedTimestamp: FixedBytes<28> = s.encryptAndHash(key: k, stamp)

        symmetric = s
        localEphemeral = ephemeral
        self.localIndex = localIndex
        remoteIndex = 0
        state = .createdInitiation
        return HandshakeInitiation(sender: localIndex, ephemeral: ephemeralPublic.rawValue,
                                   encryptedStatic: encryptedStatic, encryptedTimestamp: encryptedTimestamp)
    }

    // MARK: Responder: consume initiation (§5.4.2), in two halves

    /// What the first half of consuming an initiation learns before the peer is known.
    struct InitiationPrefix {
        var symmetric: SymmetricState
        var remoteEphemeral: PublicKey
        var remoteStatic: PublicKey
    }

    /// Decrypts the initiator's static key with our static key; throws when it does not verify.
    static func decryptInitiatorStatic(_ msg: HandshakeInitiation, identity: StaticIdentity) throws(HandshakeFailure) -> InitiationPrefix {
        var s = SymmetricState(responderStatic: identity.publicKey)
        let e = PublicKey(rawValue: msg.ephemeral)
        s.mixKey(e.rawValue)
        s.mixHash(e.rawValue)
        guard let es = X25519.sharedSecret(identity.privateKey, e) else { throw .invalidKeyAgreement }
        let k = s.mixKeyForCipher(es)
        var staticKey = Bytes32()
        let ok = staticKey.withUnsafeMutableBytes { s.decryptAndHash(key: k, msg.encryptedStatic, into: $0) }
        guard ok else { throw .decryptionFailed }
        return InitiationPrefix(symmetric: s, remoteEphemeral: e, remoteStatic: PublicKey(rawValue: staticKey))
    }

    /// Second half, once the peer is known: timestamp, replay and flood checks, then commit.
    mutating func consumeInitiation(_ msg: HandshakeInitiation, prefix: InitiationPrefix, now: Instant) throws(HandshakeFailure) {
        guard let ss = staticStatic else { throw .noStaticStatic }
        var s = prefix.symmetric
        let k = s.mixKeyForCipher(ss)
        var stamp = FixedBytes<12>()
        let ok = stamp.withUnsafeMutableBytes { s.decryptAndHash(key: k, msg.encryptedTimestamp, into: $0) }
        guard ok, let timestamp = stamp.withUnsafeBytes({ TAI64N($0) }) else { throw .decryptionFailed }
        if let latest = latestTimestamp, timestamp <= latest { throw .replayedTimestamp }
        if let last = lastInitiationConsumption, now < last + WireGuardConstants.handshakeInitiationRate { throw .flood }

        symmetric = s
        remoteEphemeral = prefix.remoteEphemeral
        remoteIndex = msg.sender
        latestTimestamp = timestamp
        lastInitiationConsumption = now
        state = .consumedInitiation
    }

    // MARK: Responder: create response (§5.4.3)

    mutating func createResponse(ephemeral: PrivateKey, localIndex: UInt32) throws(HandshakeFailure) -> HandshakeResponse {
        guard state == .consumedInitiation else { throw .unexpectedState }
        var s = symmetric
        let ephemeralPublic = X25519.publicKey(for: ephemeral)
        s.mixKey(ephemeralPublic.rawValue)
        s.mixHash(ephemeralPublic.rawValue)
        guard let ee = X25519.sharedSecret(ephemeral, remoteEphemeral) else { throw .invalidKeyAgreement }
        s.mixKey(ee)
        guard let se = X25519.sharedSecret(ephemeral, remoteStatic) else { throw .invalidKeyAgreement }
        s.mixKey(se)
        let k = s.mixPresharedKey(presharedKey)
        let encryptedNothing: Bytes16 = s.encryptAndHash(key: k, [UInt8]())

        symmetric = s
        localEphemeral = ephemeral
        self.localIndex = localIndex
        state = .createdResponse
        return HandshakeResponse(sender: localIndex, receiver: remoteIndex, ephemeral: ephemeralPublic.rawValue,
                                 encryptedNothing: encryptedNothing)
    }

    // MARK: Initiator: consume response (§5.4.3)

    mutating func consumeResponse(_ msg: HandshakeResponse, identity: StaticIdentity) throws(HandshakeFailure) {
        guard state == .createdInitiation, msg.receiver == localIndex else { throw .unexpectedState }
        var s = symmetric
        let e = PublicKey(rawValue: msg.ephemeral)
        s.mixKey(e.rawValue)
        s.mixHash(e.rawValue)
        guard let ee = X25519.sharedSecret(localEphemeral, e) else { throw .invalidKeyAgreement }
        s.mixKey(ee)
        guard let se = X25519.sharedSecret(identity.privateKey, e) else { throw .invalidKeyAgreement }
        s.mixKey(se)
        let k = s.mixPresharedKey(presharedKey)
        let ok = s.decryptAndHash(key: k, msg.encryptedNothing, into: UnsafeMutableRawBufferPointer(start: nil, count: 0))
        guard ok else { throw .decryptionFailed }

        symmetric = s
        remoteEphemeral = e
        remoteIndex = msg.sender
        state = .consumedResponse
    }

    // MARK: Session keys (§5.4.5)

    /// The transport keys of a completed handshake: (T_send, T_recv) = KDF2(C, ε), swapped for
    /// the responder. Clears the handshake. nil when the handshake is not complete.
    mutating func deriveSession() -> (send: Bytes32, receive: Bytes32, isInitiator: Bool, localIndex: UInt32, remoteIndex: UInt32)? {
        let isInitiator: Bool
        switch state {
        case .consumedResponse: isInitiator = true
        case .createdResponse: isInitiator = false
        default: return nil
        }
        let (t1, t2) = KDF.kdf2(chainingKey: symmetric.chainingKey, input: [UInt8]())
        let result = (send: isInitiator ? t1 : t2, receive: isInitiator ? t2 : t1, isInitiator: isInitiator,
                      localIndex: localIndex, remoteIndex: remoteIndex)
        clear()
        return result
    }
}

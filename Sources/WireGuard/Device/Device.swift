/// The WireGuard device as a sans-IO state machine over many peers (whitepaper §6; the
/// kernel's `struct wg_device`). Inputs are datagrams from the network, packets from the TUN
/// side and timer ticks, each with the current time; outputs are datagrams handed to a
/// `SendDatagram` closure and outcomes saying what to do with the caller's buffer.
///
/// It never reads a clock or the system's randomness, opens no socket and starts no thread.
/// Non-copyable: it owns its peers and a scratch buffer, and a copy would alias them.
public struct Device: ~Copyable {
    public internal(set) var identity: StaticIdentity?
    /// Peers by `PeerID.rawValue`; nil slots are free (listed in `freeSlots`).
    var slots: [Peer?] = []
    var freeSlots: [UInt32] = []
    /// Peer order as configured, which is the order `get` reports (like the kernel).
    var order: [PeerID] = []
    var peersByKey: [PublicKey: PeerID] = [:]
    /// Every local session index in use: a pending handshake's or a keypair's.
    var indexTable: [UInt32: IndexEntry] = [:]
    public internal(set) var allowedIPs = AllowedIPs<PeerID>()
    var cookieChecker = CookieChecker()
    var rateLimiter = RateLimiter()
    /// When the rate limiter's table was last swept: once a second, as RateLimiter asks,
    /// not on every timer tick (the sweep walks up to 64K sources under the core's lock).
    var rateLimiterSweptAt: Instant?
    var lastUnderLoad: Instant?
    var rng: any RandomNumberGenerator
    /// State of the generator for timer jitter (SplitMix64, seeded from `rng`). Jitter is
    /// drawn for nearly every data packet sent and needs no secrecy; the system's randomness
    /// costs a getrandom(2) call each time, a few percent of the send path.
    var jitterState: UInt64 = 0
    /// Handshake messages, keepalives and staged packets are built here.
    let scratch: UnsafeMutableRawBufferPointer

    /// Plaintext is padded up to a multiple of 16 but never beyond this (the TUN's MTU).
    public var mtu: Int = WireGuardConstants.defaultMTU
    /// Wall-clock time at `Instant.zero`, nanoseconds since 1970: TAI64N timestamps and
    /// last-handshake times are `offset + now`.
    public var wallClockOffset: Int64 = 0
    /// Handshake messages waiting to be processed, as counted by the I/O layer; at or above
    /// `underLoadThreshold` the device is under load and asks for cookies.
    public var handshakeBacklog = 0
    public var underLoadThreshold = 128
    /// Kept for the UAPI; the I/O layer owns the sockets.
    public var listenPort: UInt16 = 0
    public var fwmark: UInt32 = 0

    enum IndexEntry {
        case handshake(PeerID)
        case keypair(PeerID, Keypair)

        var peer: PeerID {
            switch self { case .handshake(let p), .keypair(let p, _): p }
        }
    }

    public init(privateKey: PrivateKey? = nil, rng: some RandomNumberGenerator) {
        self.rng = rng
        jitterState = self.rng.next()
        // Room for a staged packet of the largest IP packet plus header, padding and tag.
        scratch = .allocate(byteCount: TransportHeader.length + 65536 + 2 * WireGuardConstants.tagLength, alignment: 16)
        scratch.initializeMemory(as: UInt8.self, repeating: 0)
        setPrivateKey(privateKey)
    }

    deinit {
        scratch.deallocate()
    }

    // MARK: Peers

    func peer(_ id: PeerID) -> Peer? {
        let i = Int(id.rawValue)
        return i < slots.count ? slots[i] : nil
    }

    public var peerCount: Int { order.count }
    public var peerIDs: [PeerID] { order }

    public func peerID(for key: PublicKey) -> PeerID? { peersByKey[key] }

    public func publicKey(of id: PeerID) -> PublicKey? { peer(id)?.publicKey }

    // MARK: Randomness

    /// A fresh random local index, unique among those in use (never sequential).
    mutating func allocateIndex(_ entry: IndexEntry) -> UInt32 {
        while true {
            let candidate = rng.next() as UInt32
            if indexTable[candidate] == nil {
                indexTable[candidate] = entry
                return candidate
            }
        }
    }

    /// REKEY_TIMEOUT's random jitter: 0 ..< 334 ms.
    mutating func jitter() -> Interval {
        jitterState &+= 0x9E37_79B9_7F4A_7C15
        var z = jitterState
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        return .milliseconds(Int64(z % WireGuardConstants.rekeyTimeoutJitterMaxMilliseconds))
    }

    mutating func newEphemeral() -> PrivateKey {
        PrivateKey.generate(using: &rng)
    }

    func wallClock(_ now: Instant) -> (seconds: UInt64, nanoseconds: UInt32) {
        let ns = max(0, wallClockOffset &+ now.nanoseconds)
        return (UInt64(ns / 1_000_000_000), UInt32(ns % 1_000_000_000))
    }

    // MARK: Releasing sessions

    /// Drops a keypair's index so no packet can find it any more.
    mutating func release(_ keypair: Keypair) {
        if case .keypair(_, let kp) = indexTable[keypair.localIndex], kp === keypair {
            indexTable[keypair.localIndex] = nil
        }
    }

    /// Drops the index of a peer's pending handshake and clears it.
    mutating func clearHandshake(of peer: Peer) {
        let index = peer.handshake.localIndex
        if case .handshake(let owner) = indexTable[index], owner == peer.id {
            indexTable[index] = nil
        }
        peer.handshake.clear()
    }

    /// Every key of a peer forgotten: handshake, sessions and waiting packets (kernel:
    /// wg_noise_handshake_clear + wg_noise_keypairs_clear on zero_key_material).
    mutating func zeroKeyMaterial(of peer: Peer) {
        clearHandshake(of: peer)
        for kp in peer.keypairs.removeAll() { release(kp) }
    }
}

/// A `Device` is non-copyable, so exactly one owner holds it; its peers are reachable only
/// through it, and the keypairs it lends to crypto workers touch only their thread-safe keys
/// there. Moving it to another thread (behind a lock, in the I/O layer) is therefore safe.
extension Device: @unchecked Sendable {}

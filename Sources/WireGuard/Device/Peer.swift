/// A peer's handle within one device: stable while the peer exists; reused after removal.
public struct PeerID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
    public var description: String { "peer#\(rawValue)" }
}

/// One configured peer: its keys, endpoint, handshake, sessions, timers and the packets that
/// wait for a session. Owned by exactly one `Device`; never shared across threads.
final class Peer {
    let id: PeerID
    let publicKey: PublicKey
    var presharedKey: PresharedKey? {
        didSet { handshake.presharedKey = presharedKey?.rawValue ?? .zero }
    }
    /// Where to send; updated from every authenticated packet (roaming).
    var endpoint: Endpoint?
    var persistentKeepaliveInterval: UInt16 = 0
    var handshake: Handshake
    var keypairs = Keypairs()
    var timers = PeerTimers()
    var cookies: CookieGenerator
    var staged = StagedPackets()
    var lastSentHandshake: Instant?
    var rxBytes: UInt64 = 0
    var txBytes: UInt64 = 0
    /// Wall-clock time of the last completed handshake, nanoseconds since 1970 (0 = never).
    var lastHandshakeUnixNanoseconds: Int64 = 0

    init(id: PeerID, publicKey: PublicKey, identity: StaticIdentity?) {
        self.id = id
        self.publicKey = publicKey
        handshake = Handshake(remoteStatic: publicKey, identity: identity)
        cookies = CookieGenerator(remoteStatic: publicKey)
    }

    /// The keypair to send with now, if any: the current one while it is still valid.
    func sendingKeypair(now: Instant) -> Keypair? {
        guard let kp = keypairs.current, kp.canSend(now: now) else { return nil }
        return kp
    }
}

/// Packets waiting for a session (kernel: staged_packet_queue), oldest dropped when full.
struct StagedPackets {
    private var packets: [[UInt8]] = []
    private var head = 0

    var isEmpty: Bool { head == packets.count }
    var count: Int { packets.count - head }

    mutating func append(_ packet: [UInt8]) {
        if count >= WireGuardConstants.maxStagedPackets { head += 1 }
        packets.append(packet)
        if head > 64, head * 2 > packets.count {
            packets.removeFirst(head)
            head = 0
        }
    }

    mutating func takeAll() -> ArraySlice<[UInt8]> {
        let all = packets[head...]
        packets = []
        head = 0
        return all
    }

    mutating func removeAll() {
        packets = []
        head = 0
    }
}

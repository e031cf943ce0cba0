/// A complete request on the UAPI socket.
public enum UAPIRequest: Equatable, Sendable {
    /// `get=1` and the empty line: answer with `UAPI.render(status)`.
    case get
    /// `set=1`, changes, the empty line: apply all or nothing, answer `UAPI.response(errno:)`.
    case set(UAPISetRequest)
}

/// The body of a `set=1` request as typed changes, in the order they were given.
///
/// Order matters (`replace_allowed_ips` then `allowed_ip` keeps only the new ones), so the
/// changes are kept as lists, exactly as written; the same public key may appear in more
/// than one `Peer`. Device changes come first: the protocol allows them only before the
/// first `public_key`.
public struct UAPISetRequest: Equatable, Sendable {
    public enum DeviceChange: Equatable, Sendable {
        /// `private_key`; the all-zero key removes it. As given: wireguard-go and the
        /// kernel clamp a non-zero key before storing it (and `get` shows it clamped).
        case privateKey(PrivateKey)
        /// `listen_port`; 0 picks a random port.
        case listenPort(UInt16)
        /// `fwmark`; 0 turns it off.
        case fwmark(UInt32)
        /// `replace_peers=true`: remove every peer now; later peers in this request stay.
        case replacePeers
    }

    /// Changes to one peer, selected by its public key. wireguard-go creates the peer if
    /// it does not exist (unless `updateOnly` follows) and ignores a peer whose key is the
    /// device's own public key.
    public struct Peer: Equatable, Sendable {
        public var publicKey: PublicKey
        public var changes: [PeerChange]

        public init(publicKey: PublicKey, changes: [PeerChange] = []) {
            self.publicKey = publicKey
            self.changes = changes
        }
    }

    public enum PeerChange: Equatable, Sendable {
        /// `remove=true`: remove the peer; the rest of this peer's lines are then ignored
        /// (they are still validated).
        case remove
        /// `update_only=true`: if this request just created the peer, undo that and ignore
        /// the rest of its lines; an existing peer is updated as usual.
        case updateOnly
        /// `preshared_key`; the all-zero key removes it.
        case presharedKey(PresharedKey)
        case endpoint(Endpoint)
        /// `persistent_keepalive_interval` in seconds; 0 turns it off.
        case persistentKeepaliveInterval(UInt16)
        /// `replace_allowed_ips=true`: remove every allowed IP of the peer now.
        case replaceAllowedIPs
        /// `allowed_ip=PREFIX`, host bits as written (the table masks them).
        case addAllowedIP(IPPrefix)
        /// `allowed_ip=-PREFIX` (wireguard-go, wg ≥ 1.0.20250521): remove one allowed IP
        /// if it belongs to this peer.
        case removeAllowedIP(IPPrefix)
        /// `protocol_version=1`, the only version there is; it changes nothing.
        case protocolVersion
    }

    public var device: [DeviceChange]
    public var peers: [Peer]

    public init(device: [DeviceChange] = [], peers: [Peer] = []) {
        self.device = device
        self.peers = peers
    }
}

/// What `get=1` reports, in wireguard-go's terms.
public struct UAPIDeviceStatus: Equatable, Sendable {
    /// Omitted from the text when nil or all zero.
    public var privateKey: PrivateKey?
    /// Omitted from the text when 0.
    public var listenPort: UInt16
    /// Omitted from the text when 0.
    public var fwmark: UInt32
    /// In the order given; wireguard-go's own order is that of a Go map (unspecified).
    public var peers: [UAPIPeerStatus]

    public init(privateKey: PrivateKey? = nil, listenPort: UInt16 = 0, fwmark: UInt32 = 0, peers: [UAPIPeerStatus] = []) {
        self.privateKey = privateKey
        self.listenPort = listenPort
        self.fwmark = fwmark
        self.peers = peers
    }
}

public struct UAPIPeerStatus: Equatable, Sendable {
    public var publicKey: PublicKey
    /// Printed as 64 zeros when nil; parsed back as nil when all zero.
    public var presharedKey: PresharedKey?
    public var protocolVersion: UInt32
    /// Omitted from the text when nil.
    public var endpoint: Endpoint?
    /// Wall-clock time of the last handshake since the Unix epoch; both 0 when never.
    public var lastHandshakeTimeSec: Int64
    public var lastHandshakeTimeNsec: Int64
    public var txBytes: UInt64
    public var rxBytes: UInt64
    /// Seconds; 0 when off.
    public var persistentKeepaliveInterval: UInt16
    /// In the table's order for this peer (insertion order, see `AllowedIPs.prefixes(of:)`).
    public var allowedIPs: [IPPrefix]

    public init(
        publicKey: PublicKey, presharedKey: PresharedKey? = nil, protocolVersion: UInt32 = 1,
        endpoint: Endpoint? = nil, lastHandshakeTimeSec: Int64 = 0, lastHandshakeTimeNsec: Int64 = 0,
        txBytes: UInt64 = 0, rxBytes: UInt64 = 0, persistentKeepaliveInterval: UInt16 = 0,
        allowedIPs: [IPPrefix] = []
    ) {
        self.publicKey = publicKey
        self.presharedKey = presharedKey
        self.protocolVersion = protocolVersion
        self.endpoint = endpoint
        self.lastHandshakeTimeSec = lastHandshakeTimeSec
        self.lastHandshakeTimeNsec = lastHandshakeTimeNsec
        self.txBytes = txBytes
        self.rxBytes = rxBytes
        self.persistentKeepaliveInterval = persistentKeepaliveInterval
        self.allowedIPs = allowedIPs
    }
}

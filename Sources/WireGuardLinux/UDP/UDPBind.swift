/// The device loop's view of its UDP sockets, after wireguard-go's `conn.Bind`: IPv4 and
/// IPv6 on one port, batched receive and send. `LinuxUDPBind` is the real one;
/// `MemoryNetwork.bind(...)` gives in-memory doubles.
///
/// Threads: `open` returns one receiver per address family, each to be driven by its own
/// thread; `send` may be called from any number of threads. `close` wakes the receivers,
/// which then throw `.closed` for good, even after the bind is opened again (the new
/// opening has new receivers), so a rebind never leaves an old thread reading new sockets.
public protocol UDPBind: AnyObject, Sendable {
    /// Opens the sockets on `port`, 0 for a free port chosen by the kernel (the same for
    /// IPv4 and IPv6). Throws `.alreadyOpen` unless closed first.
    func open(port: UInt16) throws(BindError) -> BindOpening

    /// Closes the sockets: receivers throw `.closed`, sends throw `.closed`. Idempotent.
    func close()

    /// SO_MARK on every socket, now and on later openings (0 clears it).
    func setMark(_ mark: UInt32) throws(BindError)

    /// Sends every packet of the batch to its `endpoint`, from its `local` address when set.
    /// Packets without an endpoint, of a family without a socket, or refused by the kernel
    /// (unreachable, too big) are counted in the outcome; throws only when closed.
    @discardableResult func send(_ batch: PacketBatch) throws(BindError) -> WriteOutcome
}

/// One opening of a bind.
public struct BindOpening: Sendable {
    /// The port actually bound.
    public var port: UInt16
    /// One per address family that could be opened (IPv6 may be missing on hosts without it).
    public var receivers: [any UDPReceiver]

    public init(port: UInt16, receivers: [any UDPReceiver]) {
        self.port = port
        self.receivers = receivers
    }
}

public enum AddressFamily: Sendable, Hashable, CustomStringConvertible {
    case ipv4, ipv6

    public var description: String { self == .ipv4 ? "IPv4" : "IPv6" }
}

/// Receives datagrams of one family of one opening.
public protocol UDPReceiver: AnyObject, Sendable {
    var family: AddressFamily { get }

    /// Blocks until at least one datagram arrives, then takes those already queued, up to
    /// `batch.count`. Each lands `headroom` bytes into its slot; its `endpoint` is the
    /// sender and `local` the address it arrived on. Returns n: packets `0..<n` are
    /// filled. A packet may be empty (a datagram too large for the slot, or an empty one):
    /// skip those. Throws `.closed` once the opening is closed.
    func receive(into batch: PacketBatch, headroom: Int) throws(BindError) -> Int
}

public enum BindError: Error, Equatable, Sendable, CustomStringConvertible {
    case closed
    case alreadyOpen
    /// The port is taken (by another program, or for IPv6 only: pick another).
    case addressInUse(UInt16)
    /// SO_MARK needs CAP_NET_ADMIN.
    case permissionDenied(String)
    case system(SystemError)

    public var description: String {
        switch self {
        case .closed: "the UDP sockets are closed"
        case .alreadyOpen: "the UDP sockets are already open"
        case .addressInUse(let port): "UDP port \(port) is already in use"
        case .permissionDenied(let what): "\(what): permission denied (needs CAP_NET_ADMIN)"
        case .system(let error): error.description
        }
    }
}

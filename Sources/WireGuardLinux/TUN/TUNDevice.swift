import Glibc
import WireGuard

/// The device loop's view of the tunnel interface, batch-shaped. `LinuxTUN` is the real
/// one; `MemoryTUN` is an in-memory double for tests.
///
/// Threads: one reader and any number of writers may use a device at once; `close` from
/// any thread wakes a blocked reader, which then throws `.closed`.
public protocol TUNDevice: AnyObject, Sendable {
    /// The interface name (the kernel's, if it picked one from a `%d` pattern).
    var name: String { get }

    /// The interface index (what link events and IPV6_PKTINFO name it by).
    var interfaceIndex: Int32 { get }

    /// Reads into the batch's buffers: blocks until at least one packet arrives, then
    /// takes whatever else is ready without blocking, up to `batch.count` packets. Each
    /// packet starts `headroom` bytes into its slot and leaves at least `tailroom` bytes
    /// behind it. Returns n: packets `0..<n` are filled. A packet longer than the room is
    /// cut by the kernel; it is reported empty: skip empty packets.
    func read(into batch: PacketBatch, headroom: Int, tailroom: Int) throws(TUNError) -> Int

    /// Writes every packet of the batch. Packets the interface refuses (malformed, or the
    /// interface is down) are counted in the outcome, not thrown; throws only when the
    /// device is closed or the interface is gone.
    @discardableResult func write(_ batch: PacketBatch) throws(TUNError) -> WriteOutcome

    /// The interface's current MTU.
    func mtu() throws(TUNError) -> Int

    /// Stops readers and releases the interface. Idempotent.
    func close()
}

/// What a batched write did.
public struct WriteOutcome: Equatable, Sendable {
    /// Packets handed to the kernel (or the double).
    public var written: Int
    /// Packets refused.
    public var failed: Int
    /// errno of the first refusal, 0 when none.
    public var firstError: Int32

    public init(written: Int = 0, failed: Int = 0, firstError: Int32 = 0) {
        self.written = written
        self.failed = failed
        self.firstError = firstError
    }

    mutating func recordFailure(_ errno: Int32) {
        failed += 1
        if firstError == 0 { firstError = errno }
    }
}

/// Why a TUN operation failed, with the messages a user of `ferry-wg IFNAME` should see.
public enum TUNError: Error, Equatable, Sendable, CustomStringConvertible {
    /// /dev/net/tun is missing (no tun module, or a container without the device).
    case noTUNDevice
    /// Creating interfaces needs CAP_NET_ADMIN (root).
    case permissionDenied
    /// Another process holds the TUN interface, or a non-TUN interface has the name.
    case nameInUse(String, detail: String)
    case invalidName(String)
    /// The interface was deleted (`ip link del`) under us.
    case interfaceGone(String)
    /// `close()` was called.
    case closed
    case system(SystemError)

    public var description: String {
        switch self {
        case .noTUNDevice:
            "/dev/net/tun does not exist: load the tun module (modprobe tun) or give the container the device"
        case .permissionDenied:
            "creating a TUN interface needs root (CAP_NET_ADMIN)"
        case .nameInUse(let name, let detail):
            "interface \(name) is in use: \(detail)"
        case .invalidName(let name):
            "invalid interface name \"\(name)\": 1 to 15 bytes, no '/', ':' or white space"
        case .interfaceGone(let name):
            "interface \(name) was deleted"
        case .closed:
            "the TUN device is closed"
        case .system(let error):
            error.description
        }
    }

    /// The error for a failed open of /dev/net/tun.
    init(opening path: String, errno e: Int32) {
        switch e {
        case ENOENT, ENXIO, ENODEV: self = .noTUNDevice
        case EACCES, EPERM: self = .permissionDenied
        default: self = .system(SystemError("open \(path)", errno: e))
        }
    }

    /// The error for a failed TUNSETIFF. The kernel says EBUSY when another process has
    /// the TUN open, and EINVAL both for a name it refuses and for an interface of another
    /// kind with that name; `nameExists` tells the two apart.
    init(attaching name: String, errno e: Int32, nameExists: Bool) {
        switch e {
        case EPERM, EACCES: self = .permissionDenied
        case EBUSY: self = .nameInUse(name, detail: "that TUN interface is already open (another ferry-wg or wireguard-go?)")
        case EINVAL where nameExists: self = .nameInUse(name, detail: "an interface that is not a TUN device has that name")
        case EINVAL: self = .invalidName(name)
        default: self = .system(SystemError("TUNSETIFF \(name)", errno: e))
        }
    }

    /// Whether the kernel would accept `name` for an interface (dev_valid_name, with `%d`
    /// patterns allowed for the kernel to fill in).
    public static func isValidInterfaceName(_ name: String) -> Bool { InterfaceName.isValid(name) }
}

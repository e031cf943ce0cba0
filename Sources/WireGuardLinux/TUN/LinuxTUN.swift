import CFerryLinux
import Glibc
import Synchronization

/// A Linux TUN interface (IFF_TUN | IFF_NO_PI: bare IP packets), by default with the
/// kernel's offloads (IFF_VNET_HDR, TUNSETOFFLOAD with checksum and TSO; see
/// LinuxTUN+Offload.swift): reads cut TCP super-packets into MTU-sized segments and writes
/// merge the segments of a TCP flow, so the kernel's TCP stack and the TUN's system calls
/// run once per 64 KiB instead of once per packet. Callers see plain IP packets either way.
///
/// The descriptor is non-blocking: a read takes packets while there are any and only
/// polls (together with a stop signal) when there are none, so `close()` wakes a blocked
/// reader at once. Interface ioctls go through a datagram socket opened when the device is,
/// so they act in the interface's network namespace whatever thread calls them.
///
/// When the interface is deleted (`ip link del`), reads and writes fail with EBADFD,
/// reported as `TUNError.interfaceGone`; the `LinkMonitor` reports it as well. Moved to
/// another network namespace, it goes on carrying packets; `relocate()` finds it there.
public final class LinuxTUN: TUNDevice, @unchecked Sendable {
    /// The interface's name and index now: both may change when it is moved to another
    /// network namespace or renamed (`relocate()` follows).
    public var name: String { place.withLock { $0.name } }
    public var interfaceIndex: Int32 { place.withLock { $0.index } }
    /// The TUN descriptor, for handing to a re-executed daemon (`WG_TUN_FD`).
    public let descriptor: Int32
    /// The socket for interface ioctls, in the interface's namespace; replaced (under the
    /// control lock's writing side) when the interface moves. A lock of its own: the TUN
    /// reader holds the descriptor lock while it waits for packets, and a moved interface
    /// (down, in its new namespace) may send none for a long time.
    private var control: Int32
    private let controlLock = DescriptorLock()
    private let place: Mutex<Place>
    struct Place {
        var name: String
        var index: Int32
        /// `ferry_netns_identity` of the namespace `control` belongs to.
        var namespace: UInt64
    }
    private let stopSignal: StopSignal
    private let descriptorLock = DescriptorLock()
    private let closed = Atomic<Bool>(false)
    /// Every packet read and written carries a virtio header (IFF_VNET_HDR).
    public let hasVirtioHeaders: Bool
    /// The kernel hands over TCP super-packets (TUNSETOFFLOAD with TSO accepted).
    public let segmentationOffload: Bool
    /// The reader's state for cutting super-packets (one reader at a time).
    let reader: OffloadReader?
    /// Coalescers for concurrent writers, reused.
    let coalescers = Mutex<[TCPCoalescer]>([])

    public static let cloneDevicePath = "/dev/net/tun"

    /// Creates the interface `name` (or attaches to a persistent TUN of that name) and, when
    /// given, sets its MTU. The interface starts down, without addresses.
    /// `offloads: false` makes a TUN without virtio headers: one packet per read and write.
    public static func create(name: String, mtu: Int? = nil, offloads: Bool = true) throws(TUNError) -> LinuxTUN {
        guard TUNError.isValidInterfaceName(name) else { throw .invalidName(name) }
        let fd = Glibc.open(cloneDevicePath, O_RDWR | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { throw TUNError(opening: cloneDevicePath, errno: errno) }
        var chosen = [CChar](repeating: 0, count: Int(FERRY_IFNAMSIZ))
        let flags = FERRY_IFF_TUN | FERRY_IFF_NO_PI | (offloads ? FERRY_IFF_VNET_HDR : 0)
        let r = ferry_tun_set_iff(fd, name, UInt16(flags), &chosen)
        guard r == 0 else {
            closeDescriptor(fd)
            throw TUNError(attaching: name, errno: -r, nameExists: if_nametoindex(name) != 0)
        }
        let device: LinuxTUN
        do {
            device = try LinuxTUN(adopting: fd)
        } catch {
            closeDescriptor(fd)
            throw error
        }
        if let mtu {
            do {
                try device.setMTU(mtu)
            } catch {
                device.close()
                throw error
            }
        }
        return device
    }

    /// Takes over an open TUN descriptor (the daemon's re-executed child gets one in
    /// `WG_TUN_FD`). The device owns it from now on, also when this throws. Whether packets
    /// carry virtio headers is read from the descriptor's flags; with them, TSO is turned on.
    public init(adopting fd: Int32) throws(TUNError) {
        var owned = fd
        defer { if owned >= 0 { closeDescriptor(owned) } }
        let flags = fcntl(fd, F_GETFL)
        guard flags >= 0, fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0, fcntl(fd, F_SETFD, FD_CLOEXEC) == 0 else {
            throw .system(SystemError("fcntl TUN descriptor", errno: errno))
        }
        var raw = [CChar](repeating: 0, count: Int(FERRY_IFNAMSIZ))
        var tunFlags: UInt16 = 0
        let r = ferry_tun_get_iff(fd, &raw, &tunFlags)
        guard r == 0 else {
            throw -r == EBADFD ? .interfaceGone("?") : .system(SystemError("TUNGETIFF", result: r))
        }
        let name = String(decoding: raw.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let control = Glibc.socket(AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard control >= 0 else { throw .system(SystemError("socket for interface ioctls", errno: errno)) }
        let index = ferry_if_get_index(control, name)
        guard index > 0 else {
            closeDescriptor(control)
            throw .system(SystemError("SIOCGIFINDEX \(name)", result: index))
        }
        let stopSignal: StopSignal
        do {
            stopSignal = try StopSignal()
        } catch {
            closeDescriptor(control)
            throw .system(error)
        }
        var namespace: UInt64 = 0
        _ = ferry_netns_identity(-1, &namespace)
        place = Mutex(Place(name: name, index: index, namespace: namespace))
        self.descriptor = fd
        self.control = control
        self.stopSignal = stopSignal
        hasVirtioHeaders = Int32(tunFlags) & FERRY_IFF_VNET_HDR != 0
        // Checksum offload is the condition for TSO; both date from Linux 2.6. Without them
        // the virtio headers stay (they are the descriptor's) but never announce GSO.
        segmentationOffload = hasVirtioHeaders
            && ferry_tun_set_offload(fd, UInt32(FERRY_TUN_F_CSUM | FERRY_TUN_F_TSO4 | FERRY_TUN_F_TSO6)) == 0
        reader = hasVirtioHeaders ? OffloadReader() : nil
        owned = -1
    }

    deinit { close() }

    public func read(into batch: PacketBatch, headroom: Int, tailroom: Int) throws(TUNError) -> Int {
        let room = batch.prepareForReading(headroom: headroom, tailroom: tailroom)
        return try descriptorLock.withReading { () throws(TUNError) -> Int in
            guard !closed.load(ordering: .acquiring) else { throw .closed }
            if let reader { return try readWithHeaders(into: batch, headroom: headroom, room: room, reader) }
            var n = 0
            while n < batch.count {
                let packet = batch[n]
                let r = Glibc.read(descriptor, packet.record.pointee.data + headroom, room)
                if r >= 0 {
                    let data = packet.record.pointee.data + headroom
                    // The kernel cuts a packet longer than the room and drops the rest:
                    // report the stump as empty rather than as a malformed packet.
                    packet.record.pointee.length = r == room && LinuxTUN.isCut(data, count: r) ? 0 : UInt32(r)
                    n += 1
                    continue
                }
                if try readFailed(errno, after: n) { return n }
            }
            return n
        }
    }

    /// A failed read: true when the packets read so far should be delivered (the error
    /// shows again next time), false to try again (interrupted, or data arrived after a
    /// wait); throws when closed or gone.
    func readFailed(_ e: Int32, after n: Int) throws(TUNError) -> Bool {
        if e == EINTR { return false }
        if n > 0 { return true }
        switch e {
        case EAGAIN:
            if stopSignal.wait(readable: descriptor) == .stopped { throw .closed }
            return false
        case EBADFD:
            throw .interfaceGone(name)
        default:
            throw .system(SystemError("read \(name)", errno: e))
        }
    }

    /// Whether the IP header claims more bytes than were read.
    static func isCut(_ data: UnsafePointer<UInt8>, count: Int) -> Bool {
        guard count >= 1 else { return false }
        switch data[0] >> 4 {
        case 4 where count >= 4: return Int(data[2]) << 8 | Int(data[3]) > count
        case 6 where count >= 6: return 40 + (Int(data[4]) << 8 | Int(data[5])) > count
        default: return false
        }
    }

    @discardableResult
    public func write(_ batch: PacketBatch) throws(TUNError) -> WriteOutcome {
        try descriptorLock.withReading { () throws(TUNError) -> WriteOutcome in
            guard !closed.load(ordering: .acquiring) else { throw .closed }
            if hasVirtioHeaders { return try writeWithHeaders(batch) }
            var outcome = WriteOutcome()
            let count = batch.count
            var i = 0
            while i < count {
                let packet = batch[i]
                let r = Glibc.write(descriptor, packet.record.pointee.data + packet.offset, packet.count)
                if r >= 0 {
                    outcome.written += 1
                    i += 1
                    continue
                }
                let e = errno
                if try writeFailed(e) {
                    outcome.recordFailure(e)
                    i += 1
                }
            }
            return outcome
        }
    }

    /// A failed write: true when the packet is refused (EIO: the interface is down; EINVAL:
    /// not an IP packet) and to be dropped, false to try again; throws when closed or gone.
    func writeFailed(_ e: Int32) throws(TUNError) -> Bool {
        switch e {
        case EINTR:
            return false
        case EAGAIN:
            if stopSignal.wait(writable: descriptor) == .stopped { throw .closed }
            return false
        case EBADFD:
            throw .interfaceGone(name)
        default:
            return true
        }
    }

    public func mtu() throws(TUNError) -> Int {
        try interfaceCall("SIOCGIFMTU") { ferry_if_get_mtu($0, $1) }
    }

    public func setMTU(_ mtu: Int) throws(TUNError) {
        guard let value = Int32(exactly: mtu) else { throw .system(SystemError("SIOCSIFMTU \(name)", errno: EINVAL)) }
        _ = try interfaceCall("SIOCSIFMTU") { ferry_if_set_mtu($0, $1, value) }
    }

    /// IFF_* flags of the interface (IFF_UP, IFF_RUNNING, ...).
    public func flags() throws(TUNError) -> Int32 {
        Int32(try interfaceCall("SIOCGIFFLAGS") { ferry_if_get_flags($0, $1) })
    }

    /// Brings the interface up or down (what `ip link set up` does).
    public func setUp(_ up: Bool) throws(TUNError) {
        let current = try flags()
        let wanted = up ? current | FERRY_IFF_UP : current & ~FERRY_IFF_UP
        guard wanted != current else { return }
        _ = try interfaceCall("SIOCSIFFLAGS") { ferry_if_set_flags($0, $1, wanted) }
    }

    /// An ioctl on the interface by name. ENODEV may mean it was moved to another namespace
    /// or renamed rather than deleted: then it is followed and the call made once more.
    private func interfaceCall(_ operation: String, _ body: (Int32, UnsafePointer<CChar>) -> Int32) throws(TUNError) -> Int {
        var followed = false
        while true {
            let r = try controlLock.withReading { () throws(TUNError) -> Int32 in
                guard !closed.load(ordering: .acquiring) else { throw .closed }
                return name.withCString { body(control, $0) }
            }
            if r >= 0 { return Int(r) }
            guard -r == ENODEV else { throw .system(SystemError("\(operation) \(name)", result: r)) }
            if followed { throw .interfaceGone(name) }
            closeDescriptor(try relocate().namespace)
            followed = true
        }
    }

    /// Finds the interface again after it was moved to another network namespace (`ip link
    /// set IF netns OTHER`) or renamed: its name from the TUN descriptor (TUNGETIFF), its
    /// namespace (TUNGETDEVNETNS), and a new socket for interface ioctls there. The packet
    /// path needs none of this (the descriptor is the interface wherever it is).
    /// Returns where it is, with a namespace descriptor the caller closes; throws
    /// `.interfaceGone` once it is deleted.
    @discardableResult
    public func relocate() throws(TUNError) -> LinkLocation {
        let (name, namespace, identity) = try descriptorLock.withReading { () throws(TUNError) -> (String, Int32, UInt64) in
            guard !closed.load(ordering: .acquiring) else { throw .closed }
            var raw = [CChar](repeating: 0, count: Int(FERRY_IFNAMSIZ))
            var flags: UInt16 = 0
            let r = ferry_tun_get_iff(descriptor, &raw, &flags)
            guard r == 0 else {
                throw -r == EBADFD ? .interfaceGone(self.name) : .system(SystemError("TUNGETIFF", result: r))
            }
            let name = String(decoding: raw.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            let namespace = ferry_tun_get_netns(descriptor)
            guard namespace >= 0 else {
                throw -namespace == EBADFD ? .interfaceGone(name) : .system(SystemError("TUNGETDEVNETNS", result: namespace))
            }
            var identity: UInt64 = 0
            _ = ferry_netns_identity(namespace, &identity)
            return (name, namespace, identity)
        }
        var newControl: Int32 = -1
        if identity != place.withLock({ $0.namespace }) {
            newControl = ferry_socket_in_netns(namespace, AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard newControl >= 0 else {
                closeDescriptor(namespace)
                throw .system(SystemError("socket in the interface's namespace", result: newControl))
            }
        }
        let index = controlLock.withReading { ferry_if_get_index(newControl >= 0 ? newControl : control, name) }
        let moved: Bool = controlLock.withWriting {
            guard !closed.load(ordering: .acquiring) else { return false }
            if newControl >= 0 {
                closeDescriptor(control)
                control = newControl
                newControl = -1
            }
            place.withLock { $0 = Place(name: name, index: index > 0 ? index : $0.index, namespace: identity) }
            return true
        }
        if newControl >= 0 { closeDescriptor(newControl) }
        guard moved else {
            closeDescriptor(namespace)
            throw .closed
        }
        return LinkLocation(name: name, namespace: namespace)
    }

    public func close() {
        guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        stopSignal.stop()
        descriptorLock.withWriting { closeDescriptor(descriptor) }
        controlLock.withWriting { closeDescriptor(control) }
    }
}

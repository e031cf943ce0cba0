import CFerryLinux
import Glibc
import Synchronization

/// UDP over Linux sockets: an IPv4 and an IPv6 (IPV6_V6ONLY) socket on the same port,
/// `recvmmsg`/`sendmmsg` batches of up to 128 datagrams per call, packet info for sticky
/// source addresses, 7 MiB socket buffers (forced past rmem_max/wmem_max when root),
/// SO_MARK, and by default UDP GSO on send and UDP GRO on receive (`offloads`).
///
/// Receivers block in `recvmmsg(MSG_WAITFORONE)`; `close` wakes them with `shutdown(2)`
/// and closes the descriptors only once no thread is inside a call on them.
public final class LinuxUDPBind: UDPBind, @unchecked Sendable {
    /// wireguard-go's choice: the largest a default macOS allows, plenty for Linux.
    public static let defaultBufferSize = 7 << 20

    public let bufferSize: Int
    /// UDP GSO (several equal datagrams to one peer as one send) and UDP GRO (several
    /// datagrams of one peer as one receive, cut again here).
    public let offloads: Bool
    private let lock = ConditionLock()
    private var current: SocketSet?
    private var mark: UInt32 = 0

    public init(bufferSize: Int = LinuxUDPBind.defaultBufferSize, offloads: Bool = true) {
        self.bufferSize = bufferSize
        self.offloads = offloads
    }

    deinit { current?.close() }

    public func open(port: UInt16) throws(BindError) -> BindOpening {
        try lock.withLock { () throws(BindError) -> BindOpening in
            guard current == nil else { throw .alreadyOpen }
            let sockets = try openSockets(port: port)
            current = sockets
            var receivers: [any UDPReceiver] = []
            if sockets.ipv4 >= 0 { receivers.append(LinuxUDPReceiver(sockets: sockets, family: .ipv4, offloads: offloads)) }
            if sockets.ipv6 >= 0 { receivers.append(LinuxUDPReceiver(sockets: sockets, family: .ipv6, offloads: offloads)) }
            return BindOpening(port: sockets.port, receivers: receivers)
        }
    }

    /// IPv4 first, then IPv6 on the port IPv4 got. With port 0 the port IPv4 got may be
    /// taken for IPv6: try again with another, as wireguard-go does (up to 100 times).
    private func openSockets(port: UInt16) throws(BindError) -> SocketSet {
        let size = Int32(clamping: bufferSize)
        for _ in 0..<100 {
            var bound4: UInt16 = 0, bound6: UInt16 = 0
            let fd4 = ferry_udp_open(4, port, mark, size, &bound4)
            if fd4 < 0, -fd4 != EAFNOSUPPORT { throw BindError(opening: port, result: fd4) }
            let port6 = fd4 >= 0 ? bound4 : port
            let fd6 = ferry_udp_open(6, port6, mark, size, &bound6)
            if fd6 < 0 {
                if -fd6 == EADDRINUSE, port == 0, fd4 >= 0 {
                    closeDescriptor(fd4)
                    continue
                }
                if -fd6 != EAFNOSUPPORT || fd4 < 0 {
                    closeDescriptor(fd4)
                    throw BindError(opening: port6, result: fd6)
                }
            }
            return SocketSet(ipv4: fd4, ipv6: fd6, port: fd4 >= 0 ? bound4 : bound6, segmentation: offloads)
        }
        throw .addressInUse(port)
    }

    /// Returns once the descriptors are closed, so an `open` on the same port right after
    /// cannot find it still taken.
    public func close() {
        lock.withLock {
            current?.close()
            current = nil
        }
    }

    public func setMark(_ mark: UInt32) throws(BindError) {
        try lock.withLock { () throws(BindError) in
            if let current { try current.setMark(mark) }
            self.mark = mark
        }
    }

    @discardableResult
    public func send(_ batch: PacketBatch) throws(BindError) -> WriteOutcome {
        guard let sockets = lock.withLock({ current }) else { throw .closed }
        return try sockets.send(batch)
    }

    /// The port bound, nil when closed.
    public var port: UInt16? { lock.withLock { current?.port } }

    /// The kernel's SO_RCVBUF and SO_SNDBUF of each open socket (twice what was granted).
    public func socketBufferSizes() -> [(receive: Int, send: Int)] {
        guard let sockets = lock.withLock({ current }) else { return [] }
        return sockets.bufferSizes()
    }
}

extension BindError {
    init(opening port: UInt16, result: Int32) {
        switch -result {
        case EADDRINUSE: self = .addressInUse(port)
        case EPERM: self = .permissionDenied("SO_MARK")
        case EACCES: self = .permissionDenied("bind UDP port \(port)")
        default: self = .system(SystemError("open UDP socket on port \(port)", result: result))
        }
    }
}

/// The sockets of one opening. Receivers and senders are readers of `descriptorLock`;
/// closing shuts the sockets down (waking blocked receivers) and then closes them as the
/// writer.
final class SocketSet: @unchecked Sendable {
    let ipv4: Int32
    let ipv6: Int32
    let port: UInt16
    private let closed = Atomic<Bool>(false)
    private let descriptorLock = DescriptorLock()
    /// UDP GSO per family, until the kernel refuses it once.
    private let segmentation4: Atomic<Bool>
    private let segmentation6: Atomic<Bool>

    init(ipv4: Int32, ipv6: Int32, port: UInt16, segmentation: Bool) {
        self.ipv4 = ipv4
        self.ipv6 = ipv6
        self.port = port
        segmentation4 = Atomic(segmentation)
        segmentation6 = Atomic(segmentation)
    }

    deinit { close() }

    var isClosed: Bool { closed.load(ordering: .acquiring) }

    func close() {
        guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        // On an unconnected UDP socket shutdown fails with ENOTCONN but still wakes the
        // threads blocked in recvmmsg (they get an empty datagram).
        for fd in [ipv4, ipv6] where fd >= 0 { _ = shutdown(fd, Int32(SHUT_RDWR)) }
        descriptorLock.withWriting {
            closeDescriptor(ipv4)
            closeDescriptor(ipv6)
        }
    }

    func descriptor(_ family: AddressFamily) -> Int32 { family == .ipv4 ? ipv4 : ipv6 }

    /// With `gro` (the socket has UDP_GRO on), coalesced datagrams are cut again and the
    /// batch's buffers reordered to hold the datagrams in order.
    func receive(_ family: AddressFamily, into batch: PacketBatch, headroom: Int, gro: OpaquePointer?) throws(BindError) -> Int {
        _ = batch.prepareForReading(headroom: headroom, tailroom: 0)
        return try descriptorLock.withReading { () throws(BindError) -> Int in
            guard !isClosed else { throw .closed }
            let fd = descriptor(family)
            guard fd >= 0 else { throw .closed }
            let flags = Int32(FERRY_MSG_WAITFORONE)
            let n = if let gro {
                batch.withSlotsReordering { records, slots, count in
                    ferry_udp_recv_gro(fd, gro, records, slots, UInt32(count), flags)
                }
            } else {
                batch.withSlots { records, slots, count in ferry_udp_recv(fd, records, slots, UInt32(count), flags) }
            }
            // After shutdown the call returns an empty "datagram": that is the close.
            guard !isClosed else { throw .closed }
            guard n >= 0 else { throw .system(SystemError("recvmmsg", result: n)) }
            return Int(n)
        }
    }

    func send(_ batch: PacketBatch) throws(BindError) -> WriteOutcome {
        try descriptorLock.withReading { () throws(BindError) -> WriteOutcome in
            guard !isClosed else { throw .closed }
            var outcome = WriteOutcome()
            batch.withSlots { records, slots, count in
                // No arrays here: this runs once per batch on the packet path.
                var error4: Int32 = 0, error6: Int32 = 0
                if ipv4 >= 0 { outcome.written += send(ipv4, 4, segmentation4, records, slots, count, &error4) }
                if ipv6 >= 0 { outcome.written += send(ipv6, 6, segmentation6, records, slots, count, &error6) }
                outcome.failed = count - outcome.written
                // What was not attempted had no endpoint or no socket of its family.
                outcome.firstError = error4 != 0 ? error4 : error6 != 0 ? error6 : outcome.failed > 0 ? EDESTADDRREQ : 0
            }
            return outcome
        }
    }

    private func send(_ fd: Int32, _ family: Int32, _ segmentation: borrowing Atomic<Bool>,
                      _ records: UnsafeMutablePointer<ferry_packet>, _ slots: UnsafePointer<UInt32>, _ count: Int,
                      _ error: inout Int32) -> Int {
        var gso: Int32 = segmentation.load(ordering: .relaxed) ? 1 : 0
        let sent = Int(ferry_udp_send(fd, family, records, slots, UInt32(count), &gso, &error))
        if gso == 0 { segmentation.store(false, ordering: .relaxed) }
        return sent
    }

    func setMark(_ mark: UInt32) throws(BindError) {
        try descriptorLock.withReading { () throws(BindError) in
            guard !isClosed else { throw .closed }
            for fd in [ipv4, ipv6] where fd >= 0 {
                let r = ferry_udp_set_mark(fd, mark)
                if r < 0 { throw -r == EPERM ? .permissionDenied("SO_MARK") : .system(SystemError("SO_MARK", result: r)) }
            }
        }
    }

    func bufferSizes() -> [(receive: Int, send: Int)] {
        descriptorLock.withReading {
            guard !isClosed else { return [] }
            return [ipv4, ipv6].filter { $0 >= 0 }.map { fd in
                var r: Int32 = 0, s: Int32 = 0
                _ = ferry_socket_buffer_sizes(fd, &r, &s)
                return (Int(r), Int(s))
            }
        }
    }
}

/// One family's receive side of an opening, with its UDP GRO state (one receiving thread).
final class LinuxUDPReceiver: UDPReceiver, @unchecked Sendable {
    let sockets: SocketSet
    let family: AddressFamily
    /// The GRO state, nil when the socket receives without UDP_GRO.
    private let gro: OpaquePointer?

    /// Messages per recvmmsg with UDP GRO; each may bring up to 64 KiB.
    static let groMessages: UInt32 = 32

    init(sockets: SocketSet, family: AddressFamily, offloads: Bool) {
        self.sockets = sockets
        self.family = family
        var gro: OpaquePointer?
        if offloads, let state = ferry_gro_create(LinuxUDPReceiver.groMessages) {
            // A kernel without UDP_GRO (before 5.0) refuses the option: receive as before.
            if ferry_udp_set_gro(sockets.descriptor(family), 1) == 0 { gro = state } else { ferry_gro_destroy(state) }
        }
        self.gro = gro
    }

    deinit { ferry_gro_destroy(gro) }

    /// Whether the socket receives with UDP GRO.
    var receivesCoalesced: Bool { gro != nil }

    /// Coalesced datagrams received so far (each several datagrams of one sender). Read it
    /// from the receiving thread, or after it stopped.
    var coalescedDatagrams: Int { gro.map { Int(ferry_gro_coalesced($0)) } ?? 0 }

    func receive(into batch: PacketBatch, headroom: Int) throws(BindError) -> Int {
        try sockets.receive(family, into: batch, headroom: headroom, gro: gro)
    }
}

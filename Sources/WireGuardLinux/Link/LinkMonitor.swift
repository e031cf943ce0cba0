import CFerryLinux
import Glibc

/// Link events for one interface from rtnetlink (NETLINK_ROUTE, RTMGRP_LINK): deletion,
/// MTU changes, up and down. Reports changes only: the MTU and running state at creation
/// are the baseline.
///
/// Create it in the interface's network namespace (a netlink socket listens in the
/// namespace of the thread that opens it). If the kernel drops messages because we read too
/// slowly (ENOBUFS), the state is re-read with ioctls and the differences reported.
///
/// With a `locate` function (the TUN's `relocate`), an interface that leaves the namespace
/// is followed rather than reported deleted: moving an interface (`ip link set IF netns
/// OTHER`) looks like a deletion from the namespace it left. The monitor asks where the
/// interface is now, listens there from then on, reports `.moved` and then the state it
/// finds there as changes (a moved interface arrives down).
public final class LinkMonitor: LinkEventSource, @unchecked Sendable {
    public typealias Locate = @Sendable () -> LinkLocation?

    public private(set) var interfaceName: String
    public private(set) var interfaceIndex: Int32
    private var socket: Int32
    private var control: Int32
    /// `ferry_netns_identity` of the namespace the sockets are in.
    private var namespace: UInt64 = 0
    private let locate: Locate?
    private let stopSignal: StopSignal
    private let descriptorLock = DescriptorLock()
    private var pending: [LinkEvent] = []
    private var lastMTU: Int
    private var lastRunning: Bool
    private var finished = false
    private let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 16, alignment: 8)

    /// Starts listening for events about `interfaceName`, in the calling thread's namespace.
    public init(interfaceName: String, locate: Locate? = nil) throws(SystemError) {
        let (socket, control) = try LinkMonitor.openSockets(in: -1)
        let index = ferry_if_get_index(control, interfaceName)
        let mtu = ferry_if_get_mtu(control, interfaceName)
        let flags = ferry_if_get_flags(control, interfaceName)
        guard index > 0, mtu >= 0, flags >= 0 else {
            closeDescriptor(control)
            closeDescriptor(socket)
            throw SystemError("interface \(interfaceName)", result: min(index, mtu, flags, -ENODEV))
        }
        let stopSignal: StopSignal
        do {
            stopSignal = try StopSignal()
        } catch {
            closeDescriptor(control)
            closeDescriptor(socket)
            throw error
        }
        self.interfaceName = interfaceName
        self.interfaceIndex = index
        self.socket = socket
        self.control = control
        self.locate = locate
        self.stopSignal = stopSignal
        _ = ferry_netns_identity(-1, &namespace)
        lastMTU = Int(mtu)
        lastRunning = flags & FERRY_IFF_RUNNING != 0
    }

    /// A monitor for a TUN's interface that follows it into other network namespaces.
    public convenience init(tun: LinuxTUN) throws(SystemError) {
        try self.init(interfaceName: tun.name, locate: { try? tun.relocate() })
    }

    /// A netlink socket subscribed to link events and a socket for interface ioctls, in the
    /// namespace `nsfd` (-1: the calling thread's). Subscribed before anything is read, so
    /// no change falls between the subscription and the baseline.
    private static func openSockets(in nsfd: Int32) throws(SystemError) -> (socket: Int32, control: Int32) {
        let control = ferry_socket_in_netns(nsfd, AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard control >= 0 else { throw SystemError("socket", result: control) }
        let socket = ferry_rtnl_open_link_monitor(nsfd)
        guard socket >= 0 else {
            closeDescriptor(control)
            throw SystemError("netlink socket", result: socket)
        }
        return (socket, control)
    }

    deinit {
        close()
        buffer.deallocate()
    }

    /// The state when the monitor started (or at the last resynchronisation).
    public var baseline: (mtu: Int, running: Bool) { (lastMTU, lastRunning) }

    public func next() -> LinkEvent? {
        descriptorLock.withReading { () -> LinkEvent? in
            while true {
                if !pending.isEmpty { return pending.removeFirst() }
                if finished || stopSignal.isStopped { return nil }
                let n = Glibc.recv(socket, buffer.baseAddress, buffer.count, Int32(FERRY_MSG_DONTWAIT))
                if n < 0 {
                    switch errno {
                    case EINTR:
                        continue
                    case EAGAIN:
                        if stopSignal.wait(readable: socket) == .stopped { return nil }
                    case ENOBUFS:
                        resynchronise()
                    default:
                        finished = true
                        return nil
                    }
                    continue
                }
                var events = [ferry_link_event](repeating: ferry_link_event(), count: 64)
                let count = ferry_rtnl_parse(buffer.baseAddress!.assumingMemoryBound(to: UInt8.self), n, interfaceIndex, &events, 64)
                // After a move the rest of the buffer is about the namespace it left.
                for event in events.prefix(Int(count)) where !apply(event) { break }
            }
        }
    }

    /// Applies one message; false when the interface left this namespace (followed or gone).
    private func apply(_ event: ferry_link_event) -> Bool {
        switch Int(event.kind) {
        case Int(FERRY_LINK_DELETED):
            follow()
            return false
        case Int(FERRY_LINK_OVERRUN):
            return resynchronise()
        default:
            update(mtu: event.mtu >= 0 ? Int(event.mtu) : nil, running: Int32(bitPattern: event.flags) & FERRY_IFF_RUNNING != 0)
            return true
        }
    }

    /// The interface disappeared from this namespace: deleted, or moved (or renamed, seen
    /// by a resynchronisation). Without `locate` that is a deletion. With it, ask where the
    /// interface is; listen there (new sockets if the namespace is another) and report the
    /// state found there. A few tries: it may move on while we look.
    private func follow() {
        guard let locate else { return report(.deleted) }
        for _ in 0..<3 {
            guard let location = locate() else { return report(.deleted) }
            defer { closeDescriptor(location.namespace) }
            var identity: UInt64 = 0
            guard ferry_netns_identity(location.namespace, &identity) == 0 else { continue }
            let moved = identity != namespace
            if moved {
                guard let (socket, control) = try? LinkMonitor.openSockets(in: location.namespace) else { continue }
                // Inside next(), which holds the reading side: close() cannot run meanwhile.
                closeDescriptor(self.socket)
                closeDescriptor(self.control)
                self.socket = socket
                self.control = control
                namespace = identity
            }
            let index = ferry_if_get_index(control, location.name)
            guard index > 0 else { continue }
            interfaceIndex = index
            interfaceName = location.name
            if moved { report(.moved(location.name)) }
            if resynchronise(following: false) { return }
        }
        report(.deleted)
    }

    private func update(mtu: Int?, running: Bool) {
        if let mtu, mtu != lastMTU {
            lastMTU = mtu
            report(.mtuChanged(mtu))
        }
        if running != lastRunning {
            lastRunning = running
            report(running ? .up : .down)
        }
    }

    /// After lost messages or a move: read the state again. An interface that no longer
    /// answers here is followed (`following`) or else reported gone; returns whether it answered.
    @discardableResult
    private func resynchronise(following: Bool = true) -> Bool {
        let mtu = interfaceName.withCString { ferry_if_get_mtu(control, $0) }
        let flags = interfaceName.withCString { ferry_if_get_flags(control, $0) }
        let index = interfaceName.withCString { ferry_if_get_index(control, $0) }
        guard mtu >= 0, flags >= 0, index == interfaceIndex else {
            if following { follow() }
            return false
        }
        update(mtu: Int(mtu), running: flags & FERRY_IFF_RUNNING != 0)
        return true
    }

    private func report(_ event: LinkEvent) {
        guard !finished else { return }
        pending.append(event)
        if event == .deleted { finished = true }
    }

    public func close() {
        stopSignal.stop()
        descriptorLock.withWriting {
            guard socket >= 0, !closedDescriptors else { return }
            closedDescriptors = true
            closeDescriptor(socket)
            closeDescriptor(control)
        }
    }

    private var closedDescriptors = false
}

import CFerryLinux
import Glibc

/// Link events for one interface from rtnetlink (NETLINK_ROUTE, RTMGRP_LINK): deletion,
/// MTU changes, up and down. Reports changes only: the MTU and running state at creation
/// are the baseline.
///
/// Create it in the interface's network namespace (a netlink socket listens in the
/// namespace of the thread that opens it). If the kernel drops messages because we read too
/// slowly (ENOBUFS), the state is re-read with ioctls and the differences reported.
public final class LinkMonitor: LinkEventSource, @unchecked Sendable {
    public let interfaceName: String
    public let interfaceIndex: Int32
    private let socket: Int32
    private let control: Int32
    private let stopSignal: StopSignal
    private let descriptorLock = DescriptorLock()
    private var pending: [LinkEvent] = []
    private var lastMTU: Int
    private var lastRunning: Bool
    private var finished = false
    private let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 16, alignment: 8)

    /// Starts listening for events about `interfaceName`.
    public init(interfaceName: String) throws(SystemError) {
        let control = Glibc.socket(AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard control >= 0 else { throw SystemError("socket", errno: errno) }
        // Subscribe before reading the baseline, so no change falls between the two.
        let socket = ferry_rtnl_open_link_monitor()
        guard socket >= 0 else {
            closeDescriptor(control)
            throw SystemError("netlink socket", result: socket)
        }
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
        self.stopSignal = stopSignal
        lastMTU = Int(mtu)
        lastRunning = flags & FERRY_IFF_RUNNING != 0
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
                for event in events.prefix(Int(count)) { apply(event) }
            }
        }
    }

    private func apply(_ event: ferry_link_event) {
        switch Int(event.kind) {
        case Int(FERRY_LINK_DELETED):
            report(.deleted)
        case Int(FERRY_LINK_OVERRUN):
            resynchronise()
        default:
            update(mtu: event.mtu >= 0 ? Int(event.mtu) : nil, running: Int32(bitPattern: event.flags) & FERRY_IFF_RUNNING != 0)
        }
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

    /// After lost messages: read the state again; an interface that no longer answers is gone.
    private func resynchronise() {
        let mtu = interfaceName.withCString { ferry_if_get_mtu(control, $0) }
        let flags = interfaceName.withCString { ferry_if_get_flags(control, $0) }
        let index = interfaceName.withCString { ferry_if_get_index(control, $0) }
        guard mtu >= 0, flags >= 0, index == interfaceIndex else {
            report(.deleted)
            return
        }
        update(mtu: Int(mtu), running: flags & FERRY_IFF_RUNNING != 0)
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

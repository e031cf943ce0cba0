import CFerryLinux
import Glibc

/// A one-way "stop" flag that a thread blocked in poll(2) notices at once: an eventfd that
/// is written once and never drained, so it stays readable and every wait after the stop
/// returns immediately. Used to stop TUN readers, the link monitor and the UAPI server.
public final class StopSignal: @unchecked Sendable {
    /// The eventfd, for callers that poll it together with their own descriptors.
    public let descriptor: Int32
    private let flag = ConditionLock()
    private var stopped = false

    public init() throws(SystemError) {
        let fd = ferry_eventfd()
        guard fd >= 0 else { throw SystemError("eventfd", result: fd) }
        descriptor = fd
    }

    deinit { closeDescriptor(descriptor) }

    /// Stops every present and future wait. Idempotent.
    public func stop() {
        let first = flag.withLock { () -> Bool in
            defer { stopped = true }
            return !stopped
        }
        guard first else { return }
        var one: UInt64 = 1
        _ = withUnsafeBytes(of: &one) { Glibc.write(descriptor, $0.baseAddress, 8) }
    }

    public var isStopped: Bool { flag.withLock { stopped } }

    public enum Wake: Equatable, Sendable {
        /// This descriptor is readable (or writable), or has an error or hang-up that the
        /// next call on it reports.
        case ready(Int32)
        case stopped, timedOut
    }

    /// Blocks until `fd` is readable, the signal is stopped, or the deadline passes.
    public func wait(readable fd: Int32, until deadline: MonotonicTime? = nil) -> Wake {
        wait(fd, -1, events: Int16(POLLIN), until: deadline)
    }

    /// Blocks until `first` or `second` is readable (`.ready` names which), the signal is
    /// stopped, or the deadline passes.
    public func wait(readable first: Int32, or second: Int32, until deadline: MonotonicTime? = nil) -> Wake {
        wait(first, second, events: Int16(POLLIN), until: deadline)
    }

    /// As `wait(readable:)` for writability.
    public func wait(writable fd: Int32, until deadline: MonotonicTime? = nil) -> Wake {
        wait(fd, -1, events: Int16(POLLOUT), until: deadline)
    }

    /// Sleeps until the signal is stopped or the deadline passes; true when stopped.
    public func sleep(until deadline: MonotonicTime?) -> Bool {
        wait(-1, -1, events: 0, until: deadline) == .stopped
    }

    /// poll(2) ignores negative descriptors, which makes the unused places harmless.
    private func wait(_ first: Int32, _ second: Int32, events: Int16, until deadline: MonotonicTime?) -> Wake {
        // A tuple, not an array: no heap allocation on the TUN reader's idle path.
        var fds = (pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0),
                   pollfd(fd: first, events: events, revents: 0),
                   pollfd(fd: second, events: events, revents: 0))
        return withUnsafeMutablePointer(to: &fds) { triple in
            triple.withMemoryRebound(to: pollfd.self, capacity: 3) { p in
                while true {
                    let r = poll(p, 3, deadline?.pollTimeout ?? -1)
                    if r < 0 {
                        if errno == EINTR { continue }
                        return .stopped  // poll itself failed (ENOMEM): nothing sensible left to wait for
                    }
                    if p[0].revents != 0 { return .stopped }
                    if p[1].revents != 0 { return .ready(first) }
                    if p[2].revents != 0 { return .ready(second) }
                    if r == 0, let deadline, MonotonicTime.now() >= deadline { return .timedOut }
                }
            }
        }
    }
}

import CFerryLinux
import Glibc

/// SIGTERM and SIGINT as something the main thread waits for, instead of handlers that
/// run at an arbitrary point: the signals are blocked and read from a signalfd, together
/// with a `StopSignal` the daemon's other reasons to exit use (interface deleted, UAPI
/// socket removed). SIGPIPE is ignored.
///
/// Install it first thing in `main`, before any thread exists: threads inherit the blocked
/// mask, and a process-directed signal must find it blocked in every thread or it may be
/// delivered (and kill the process) in one that does not block it.
public final class ShutdownSignals: @unchecked Sendable {
    public let signals: [Int32]
    private let descriptor: Int32

    public enum Reason: Equatable, Sendable {
        /// One of the signals arrived.
        case signal(Int32)
        /// The stop signal was stopped.
        case stopped
    }

    public init(signals: [Int32] = [SIGTERM, SIGINT]) throws(SystemError) {
        signal(SIGPIPE, SIG_IGN)
        let fd = signals.withUnsafeBufferPointer { ferry_signalfd($0.baseAddress, Int32($0.count)) }
        guard fd >= 0 else { throw SystemError("signalfd", result: fd) }
        self.signals = signals
        descriptor = fd
    }

    deinit { closeDescriptor(descriptor) }

    /// Blocks until one of the signals arrives or `stop` is stopped.
    public func wait(orUntil stop: StopSignal) -> Reason {
        while true {
            switch stop.wait(readable: descriptor) {
            case .stopped, .timedOut:
                return .stopped
            case .ready:
                let signal = ferry_signalfd_read(descriptor)
                if signal > 0 { return .signal(signal) }
            }
        }
    }
}

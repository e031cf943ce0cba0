import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A child process with the part of Foundation's `Process` interface Ferry uses, started
/// with posix_spawn (`Spawn`): `Process.run()` can crash in a process holding many
/// descriptors (see Spawn). Standard streams are a `FileHandle`, a `Pipe` (the parent's
/// copy of the child's end is closed after the start, as `Process` does) or unset
/// (inherited). A thread of its own reaps the child, so `isRunning` and
/// `terminationStatus` are exact and no zombie is left.
public final class ChildProcess: @unchecked Sendable {
    public var executableURL: URL?
    public var arguments: [String]?
    public var environment: [String: String]?
    public var standardInput: Any?
    public var standardOutput: Any?
    public var standardError: Any?

    private let lock = NSCondition()
    private var pid: pid_t = 0
    private var status: Int32?
    private var signaled = false

    public enum TerminationReason: Sendable { case exit, uncaughtSignal }

    public init() {}

    public var processIdentifier: Int32 { lock.withLock { pid } }

    public var isRunning: Bool { lock.withLock { pid != 0 && status == nil } }

    /// The exit status (128 + signal when a signal ended it); 0 before the end.
    public var terminationStatus: Int32 { lock.withLock { status ?? 0 } }

    public var terminationReason: TerminationReason { lock.withLock { signaled ? .uncaughtSignal : .exit } }

    public func run() throws {
        guard let path = executableURL?.path else { throw Spawn.Failure(command: arguments ?? [], errno: ENOENT) }
        let argv = [path] + (arguments ?? [])
        let (inFD, inClose) = Self.descriptor(standardInput, child: 0, reads: true)
        let (outFD, outClose) = Self.descriptor(standardOutput, child: 1, reads: false)
        let (errFD, errClose) = Self.descriptor(standardError, child: 2, reads: false)
        let child = try Spawn.start(path: path, argv: argv, environment: environment, stdin: inFD, stdout: outFD, stderr: errFD)
        for handle in [inClose, outClose, errClose].compactMap({ $0 }) { try? handle.close() }
        lock.withLock { pid = child }
        Thread.detachNewThread { [self] in
            let t = Spawn.termination(child)
            lock.withLock {
                status = t.status
                signaled = t.signaled
                lock.broadcast()
            }
        }
    }

    public func waitUntilExit() {
        lock.withLock {
            while pid != 0 && status == nil { lock.wait() }
        }
    }

    /// SIGTERM, as `Process.terminate()`.
    public func terminate() { send(SIGTERM) }

    /// SIGINT, as `Process.interrupt()`.
    public func interrupt() { send(SIGINT) }

    private func send(_ signal: Int32) {
        lock.withLock { if pid != 0 && status == nil { kill(pid, signal) } }
    }

    /// The descriptor the child gets for `stream`, and the parent's handle to close after
    /// the start (the child's end of a pipe).
    private static func descriptor(_ stream: Any?, child: Int32, reads: Bool) -> (Int32, FileHandle?) {
        switch stream {
        case let pipe as Pipe:
            let end = reads ? pipe.fileHandleForReading : pipe.fileHandleForWriting
            return (end.fileDescriptor, end)
        case let handle as FileHandle:
            return handle === FileHandle.nullDevice ? (-1, nil) : (handle.fileDescriptor, nil)
        default:
            return (child, nil)
        }
    }
}

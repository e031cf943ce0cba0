import FerryCore
import Foundation

/// The outcome of running a program.
public struct CommandResult: Sendable {
    public var status: Int32
    public var stdout: String
    public var stderr: String
    public var succeeded: Bool { status == 0 }
}

/// A program that failed: which one, how, and what it said.
public struct CommandError: Error, Sendable, CustomStringConvertible {
    public var command: [String]
    public var result: CommandResult
    public var description: String {
        "\(command.joined(separator: " ")) exited \(result.status): \(result.stderr.trimmingCharacters(in: .whitespacesAndNewlines))"
    }
}

/// Runs programs: the seam between the interface controllers and the system, so tests
/// can record what would have run.
public protocol CommandRunner: Sendable {
    func run(_ argv: [String], stdin: String?) async throws -> CommandResult
    /// Starts a long-running program (a userspace WireGuard in the foreground) without
    /// waiting for it; its output goes nowhere.
    func launch(_ argv: [String]) throws
}

extension CommandRunner {
    /// Runs and throws unless the program exits 0.
    @discardableResult
    public func check(_ argv: [String], stdin: String? = nil) async throws -> CommandResult {
        let r = try await run(argv, stdin: stdin)
        guard r.succeeded else { throw CommandError(command: argv, result: r) }
        return r
    }
}

/// Runs programs found on PATH (posix_spawn through `Spawn`, not Foundation's `Process`:
/// see Spawn for why). The wait happens on a thread of its own, never on Swift's
/// cooperative pool.
public struct ProcessRunner: CommandRunner {
    public init() { _ = Spawn.ignoreSIGPIPE }

    public func run(_ argv: [String], stdin: String?) async throws -> CommandResult {
        try await withCheckedThrowingContinuation { (cont: CheckedContinuation<CommandResult, any Error>) in
            Thread.detachNewThread {
                do { cont.resume(returning: try Spawn.run(argv, input: stdin)) } catch { cont.resume(throwing: error) }
            }
        }
    }

    public func launch(_ argv: [String]) throws {
        // Not daemonizing (it stays our child), and reaped by a thread of its own so it
        // never lingers as a zombie.
        let pid = try Spawn.start(argv)
        Thread.detachNewThread { _ = Spawn.wait(pid) }
    }
}

/// Drains a pipe on a background thread.
final class PipeCollector: @unchecked Sendable {
    private let lock = NSLock()
    private var data = Data()
    private let done = DispatchSemaphore(value: 0)

    init(_ handle: FileHandle) {
        Thread.detachNewThread { [self] in
            let d = handle.readDataToEndOfFile()
            lock.lock(); data = d; lock.unlock()
            done.signal()
        }
    }

    func finish() -> String {
        done.wait()
        lock.lock(); defer { lock.unlock() }
        return String(decoding: data, as: UTF8.self)
    }
}

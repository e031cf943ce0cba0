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

/// Runs programs found on PATH with Foundation's `Process`.
public struct ProcessRunner: CommandRunner {
    /// Writing into a pipe whose reader exited must fail with EPIPE, not kill the process.
    private static let ignoreSIGPIPE: Void = { _ = signal(SIGPIPE, SIG_IGN) }()

    public init() { _ = Self.ignoreSIGPIPE }

    public func run(_ argv: [String], stdin: String?) async throws -> CommandResult {
        try await withCheckedThrowingContinuation { (cont: CheckedContinuation<CommandResult, any Error>) in
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            p.arguments = argv
            let out = Pipe(), err = Pipe(), inp = Pipe()
            p.standardOutput = out
            p.standardError = err
            p.standardInput = inp
            // Read both pipes while the program runs so a full pipe cannot block it.
            let outData = PipeCollector(out.fileHandleForReading)
            let errData = PipeCollector(err.fileHandleForReading)
            p.terminationHandler = { proc in
                let r = CommandResult(status: proc.terminationStatus, stdout: outData.finish(), stderr: errData.finish())
                cont.resume(returning: r)
            }
            do {
                try p.run()
                // A program that exits without reading its input (nft refusing to run, say)
                // closes the pipe: that is its failure to report, not ours to trap on
                // (the non-throwing `write(_:)` traps on EPIPE; SIGPIPE is ignored below).
                if let stdin { try? inp.fileHandleForWriting.write(contentsOf: Data(stdin.utf8)) }
                try? inp.fileHandleForWriting.close()
            } catch {
                cont.resume(throwing: error)
            }
        }
    }
}

extension ProcessRunner {
    public func launch(_ argv: [String]) throws {
        // Not daemonizing: a forked grandchild would inherit the descriptor Foundation
        // watches to learn that its child exited, and the parent would never be reaped.
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = argv
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        p.standardInput = FileHandle.nullDevice
        try p.run()
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

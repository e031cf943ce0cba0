import FerrySystem
import Foundation

/// A command that failed, with what it printed.
public struct CommandFailure: Error, CustomStringConvertible {
    public let command: [String]
    public let status: Int32
    public let output: String
    public var description: String { "`\(command.joined(separator: " "))` exited \(status): \(output)" }

    public init(command: [String], status: Int32, output: String) {
        self.command = command
        self.status = status
        self.output = output
    }
}

/// Runs a command to completion and returns its standard output (standard error is included
/// in the failure). No shell is involved: arguments are passed as they are.
@discardableResult
public func run(_ command: [String], input: String? = nil, environment: [String: String] = [:]) throws -> String {
    // FerrySystem's posix_spawn, not Foundation's Process (whose run() can crash in a
    // process with many descriptors open: see Spawn).
    let env = environment.isEmpty ? nil : ProcessInfo.processInfo.environment.merging(environment) { $1 }
    let r = try Spawn.run(command, input: input, environment: env)
    guard r.status == 0 else {
        throw CommandFailure(command: command, status: r.status, output: r.stdout + r.stderr)
    }
    return r.stdout
}

/// A long-running child process (a daemon under test), killed when closed or deinitialized.
public final class BackgroundProcess: @unchecked Sendable {
    public let process = ChildProcess()
    private let log: FileHandle
    public let logPath: String

    public init(_ command: [String], environment: [String: String] = [:]) throws {
        logPath = NSTemporaryDirectory() + "ferry-bg-\(UUID().uuidString.prefix(8)).log"
        FileManager.default.createFile(atPath: logPath, contents: nil)
        log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = command
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardOutput = log
        process.standardError = log
        try process.run()
    }

    public var output: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }
    public var isRunning: Bool { process.isRunning }

    public func signal(_ sig: Int32) { if process.isRunning { kill(process.processIdentifier, sig) } }

    /// Terminates (SIGTERM, then SIGKILL after `grace`) and waits.
    public func stop(grace: TimeInterval = 3) {
        guard process.isRunning else { return }
        process.terminate()
        let deadline = Date().addingTimeInterval(grace)
        while process.isRunning, Date() < deadline { usleep(10_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    deinit {
        stop()
        try? log.close()
        try? FileManager.default.removeItem(atPath: logPath)
    }
}

/// Polls `condition` every 50 ms until it holds or `timeout` passes.
public func waitUntil(timeout: TimeInterval, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if try condition() { return true }
        usleep(50_000)
    }
    return try condition()
}

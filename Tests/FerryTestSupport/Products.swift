import FerrySystem
import Foundation
import Synchronization

/// The package's built executables (the same build as the test bundle) and a way to run
/// them.
public enum BuiltProducts {
    /// The package root (two folders above this file's folder).
    public static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// `name` beside the test bundle, else under .build/debug.
    public static func executable(_ name: String) -> URL {
        let beside = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for dir in [beside, beside.deletingLastPathComponent(), packageRoot.appendingPathComponent(".build/debug")] {
            let candidate = dir.appendingPathComponent(name)
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        return packageRoot.appendingPathComponent(".build/debug/\(name)")
    }

    /// Runs a program to completion; returns its status, standard output and standard error.
    public static func run(_ executable: String, _ args: [String], input: String? = nil,
                           environment: [String: String] = [:]) throws -> (status: Int32, stdout: String, stderr: String) {
        try run(executable, args, input: input, environment: environment, started: { _ in })
    }

    static func run(_ executable: String, _ args: [String], input: String?, environment: [String: String],
                    started: (ChildProcess) -> Void) throws -> (status: Int32, stdout: String, stderr: String) {
        let p = ChildProcess()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = args
        p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let out = Pipe(), err = Pipe(), inp = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = inp
        try p.run()
        started(p)
        if let input { inp.fileHandleForWriting.write(Data(input.utf8)) }
        try? inp.fileHandleForWriting.close()
        // Both pipes drain at once, so a full one cannot block the program.
        nonisolated(unsafe) var errData = Data()
        let done = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            errData = err.fileHandleForReading.readDataToEndOfFile()
            done.signal()
        }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        done.wait()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: outData, as: UTF8.self), String(decoding: errData, as: UTF8.self))
    }

    /// The same, waited for on a thread of its own. A test that blocks in the synchronous
    /// version holds one of Swift's cooperative threads (two on a 2-core machine) for the
    /// minutes an end-to-end script runs, which starves every other test, and even the
    /// time-limit timers, of the pool: the namespace group's scripts use this one.
    public static func run(_ executable: String, _ args: [String], input: String? = nil,
                           environment: [String: String] = [:]) async throws -> (status: Int32, stdout: String, stderr: String) {
        // A test past its time limit is cancelled: the program (an end-to-end script) is
        // asked to stop, so its trap cleans up, and killed if it has not after 10 s. Without
        // this a hung script held the whole test run until CI's own limit.
        let running = Mutex<(process: ChildProcess?, cancelled: Bool)>((nil, false))
        return try await withTaskCancellationHandler {
            try await offCooperativePool {
                try run(executable, args, input: input, environment: environment, started: { p in
                    if running.withLock({ $0.process = p; return $0.cancelled }) { p.terminate() }
                })
            }
        } onCancel: {
            guard let p = running.withLock({ $0.cancelled = true; return $0.process }) else { return }
            p.terminate()
            Thread.detachNewThread {
                Thread.sleep(forTimeInterval: 10)
                if p.isRunning { kill(p.processIdentifier, SIGKILL) }
            }
        }
    }
}

/// A `ferryd serve` on loopback for tests: its data in a temporary folder, the admin token
/// it printed, stopped (and its folder removed) on `stop()` or deinit.
public final class FerrydServer: @unchecked Sendable {
    public let process = ChildProcess()
    public let port: Int
    public let data: URL
    public private(set) var adminToken = ""
    public private(set) var fingerprint: String?
    private let outFile: URL

    /// `host`: the address to listen on (the URL stays loopback's, which a wildcard serves too).
    public init(extra: [String] = [], host: String = "127.0.0.1") throws {
        port = RawHTTP.freePort()
        data = FileManager.default.temporaryDirectory.appendingPathComponent("ferryd-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
        outFile = data.appendingPathComponent("out.txt")
        FileManager.default.createFile(atPath: outFile.path, contents: nil)
        process.executableURL = BuiltProducts.executable("ferryd")
        process.arguments = ["serve", "--data", data.appendingPathComponent("db").path, "--listen", "\(host):\(port)",
                             "--log-level", "warning"] + extra
        let handle = try FileHandle(forWritingTo: outFile)
        process.standardOutput = handle
        process.standardError = FileHandle.nullDevice
        try process.run()
        // "listening on" is printed once the socket is bound; a debug ferryd on a loaded
        // 2-core machine can take a while to get there.
        let up = waitUntil(timeout: 120) { self.output.contains("ferryd: listening on") || !self.process.isRunning }
            && self.output.contains("ferryd: listening on")
        guard up, let token = output.split(whereSeparator: \.isWhitespace).first(where: { $0.hasPrefix("ferry_") }).map(String.init) else {
            let running = process.isRunning, text = output
            stop()
            throw CommandFailure(command: ["ferryd"] + (process.arguments ?? []), status: running ? -1 : process.terminationStatus,
                                 output: text.isEmpty ? "(no output; \(running ? "still starting after 120 s" : "exited"))" : text)
        }
        adminToken = token
        fingerprint = output.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            .first { $0.count == 95 && $0.split(separator: ":").count == 32 }
        // ferryd prints "listening on" once its socket is bound: no settle needed.
    }

    public var url: String { "\(fingerprint == nil ? "http" : "https")://127.0.0.1:\(port)" }
    public var output: String { (try? String(contentsOf: outFile, encoding: .utf8)) ?? "" }

    public func stop() {
        if process.isRunning { process.terminate(); process.waitUntilExit() }
        try? FileManager.default.removeItem(at: data)
    }

    deinit { stop() }
}

/// Runs blocking work on a new thread and awaits it, so the cooperative pool stays free.
public func offCooperativePool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread { continuation.resume(with: Result { try body() }) }
    }
}

import FerrySystem
import FerryTestSupport
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Finding and running the built ferryd binary (FerryTestSupport's `BuiltProducts`).
enum Binaries {
    static var packageRoot: URL { BuiltProducts.packageRoot }
    static var ferryd: URL { BuiltProducts.executable("ferryd") }

    /// Runs a program to completion; returns its status and output (stdout and stderr).
    static func run(_ executable: String, _ args: [String]) throws -> (Int32, String) {
        let r = try BuiltProducts.run(executable, args)
        return (r.status, r.stdout + r.stderr)
    }

    static func run(_ executable: String, _ args: [String]) async throws -> (Int32, String) {
        let r = try await BuiltProducts.run(executable, args)
        return (r.status, r.stdout + r.stderr)
    }
}

/// A running `ferryd serve`, its stdout collected in a file.
final class FerrydProcess: @unchecked Sendable {
    let process = ChildProcess()
    let port: Int
    let outFile: URL

    /// `launcher`: a program that execs ferryd with its arguments (e.g. prlimit with an
    /// open-file limit). `logs`: standard error goes to the output file too.
    /// `environment`: added to the test's own (e.g. FERRY_DATABASE_URL).
    init(data: URL, port: Int, extra: [String] = [], launcher: [String] = [], logs: Bool = false,
         environment: [String: String] = [:]) throws {
        self.port = port
        outFile = data.deletingLastPathComponent().appendingPathComponent("ferryd-\(port)-\(UUID().uuidString).out")
        FileManager.default.createFile(atPath: outFile.path, contents: nil)
        let args = ["serve", "--data", data.path, "--listen", "127.0.0.1:\(port)", "--log-level", logs ? "notice" : "warning"] + extra
        if let program = launcher.first {
            process.executableURL = URL(fileURLWithPath: program)
            process.arguments = launcher.dropFirst() + [Binaries.ferryd.path] + args
        } else {
            process.executableURL = Binaries.ferryd
            process.arguments = args
        }
        if !environment.isEmpty { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        let handle = try FileHandle(forWritingTo: outFile)
        process.standardOutput = handle
        process.standardError = logs ? handle : FileHandle.nullDevice
        try process.run()
    }

    var output: String { (try? String(contentsOf: outFile, encoding: .utf8)) ?? "" }

    /// Waits until /health answers.
    func waitUntilUp() async throws {
        for _ in 0..<1200 where process.isRunning {
            if (try? await HTTPClient.request("GET", "http://127.0.0.1:\(port)/health", token: nil).0) == 200 { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw CocoaError(.featureUnsupported)
    }

    func kill9() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    func terminate() {
        if process.isRunning { process.terminate(); process.waitUntilExit() }
        try? FileManager.default.removeItem(at: outFile)
    }
}

/// A tiny HTTP client over URLSession for tests against a live ferryd.
enum HTTPClient {
    static let session: URLSession = {
        let c = URLSessionConfiguration.ephemeral
        c.timeoutIntervalForRequest = 10
        return URLSession(configuration: c)
    }()

    static func request(_ method: String, _ url: String, token: String?, json: String? = nil) async throws -> (Int, String) {
        var r = URLRequest(url: URL(string: url)!)
        r.httpMethod = method
        if let token { r.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        if let json {
            r.httpBody = Data(json.utf8)
            r.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        let (data, response) = try await session.data(for: r)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
    }
}

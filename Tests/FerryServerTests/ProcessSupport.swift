import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Finding and running the built ferryd binary.
enum Binaries {
    /// The package root (two folders above this file's folder).
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// `ferryd` beside the test bundle (the same build), else under .build/debug.
    static var ferryd: URL {
        let beside = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for dir in [beside, beside.deletingLastPathComponent(), packageRoot.appendingPathComponent(".build/debug")] {
            let candidate = dir.appendingPathComponent("ferryd")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        return packageRoot.appendingPathComponent(".build/debug/ferryd")
    }

    /// Runs a program to completion; returns its status and output (stdout and stderr).
    static func run(_ executable: String, _ args: [String]) throws -> (Int32, String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = args
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}

/// A running `ferryd serve`, its stdout collected in a file.
final class FerrydProcess: @unchecked Sendable {
    let process = Process()
    let port: Int
    let outFile: URL

    init(data: URL, port: Int, extra: [String] = []) throws {
        self.port = port
        outFile = data.deletingLastPathComponent().appendingPathComponent("ferryd-\(port)-\(UUID().uuidString).out")
        FileManager.default.createFile(atPath: outFile.path, contents: nil)
        process.executableURL = Binaries.ferryd
        process.arguments = ["serve", "--data", data.path, "--listen", "127.0.0.1:\(port)", "--log-level", "warning"] + extra
        let handle = try FileHandle(forWritingTo: outFile)
        process.standardOutput = handle
        process.standardError = FileHandle.nullDevice
        try process.run()
    }

    var output: String { (try? String(contentsOf: outFile, encoding: .utf8)) ?? "" }

    /// Waits until /health answers.
    func waitUntilUp() async throws {
        for _ in 0..<1200 {
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

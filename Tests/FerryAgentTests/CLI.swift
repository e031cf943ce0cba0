import FerryTestSupport
import Foundation

/// Runs the built `ferry`.
enum CLI {
    static var ferry: String { BuiltProducts.executable("ferry").path }

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
        /// The lines `ferry` wrote to standard error.
        var errorLines: [Substring] { stderr.split(separator: "\n") }
    }

    static func run(_ args: [String], input: String? = nil, environment: [String: String] = [:]) throws -> Result {
        // The tests' own environment must not leak admin credentials into the commands.
        var env = ["FERRY_URL": "", "FERRY_TOKEN": "", "FERRY_STATE": "", "FERRY_FINGERPRINT": "", "FERRY_CI_TOKEN": ""]
        env.merge(environment) { $1 }
        let r = try BuiltProducts.run(ferry, args, input: input, environment: env)
        return Result(status: r.status, stdout: r.stdout, stderr: r.stderr)
    }

    static func tool(_ args: [String], input: String? = nil) throws -> (status: Int32, stdout: String, stderr: String) {
        try BuiltProducts.run("/usr/bin/env", args, input: input)
    }

    static func temporaryDirectory() -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("ferry-cli-\(UUID().uuidString.prefix(8))")
    }

    /// Every file below `dir` with its contents and mode: to show nothing changed.
    static func snapshot(_ dir: URL) -> [String: String] {
        var out: [String: String] = [:]
        guard let e = FileManager.default.enumerator(atPath: dir.path) else { return out }
        for case let f as String in e {
            let p = dir.appendingPathComponent(f).path
            let mode = (try? FileManager.default.attributesOfItem(atPath: p)[.posixPermissions] as? Int) ?? -1
            out[f] = "\(mode):" + ((try? String(contentsOfFile: p, encoding: .utf8)) ?? "<dir>")
        }
        return out
    }
}

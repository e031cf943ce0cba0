import FerryCore
@testable import FerryServer
import FerryTestSupport
import Foundation
import Testing

@Suite("Live ferryd", .serialized)
struct LiveServerTests {
    /// Options that could not work are usage errors (64) naming the option, and nothing is
    /// created under --data.
    @Test func badServeOptions() throws {
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("ferry-opts-\(UUID().uuidString)")
        for (args, option) in [(["--network", "10.0.0.0/28"], "--network"), (["--network6", "fd00::/120"], "--network6"),
                               (["--gateway-key-rotation", "500ms"], "--gateway-key-rotation"),
                               (["--gateway", "wg\"0"], "--gateway"), (["--listen", "nowhere"], "--listen"),
                               (["--max-connections", "5"], "--max-connections"), (["--write-rate", "-1"], "--write-rate"),
                               (["--max-long-polls-per-token", "0"], "--max-long-polls-per-token")] {
            let (status, out) = try Binaries.run(Binaries.ferryd.path, ["serve", "--data", data.path] + args)
            #expect(status == 64 && out.contains(option), "\(args): \(status) \(out)")
        }
        #expect(!FileManager.default.fileExists(atPath: data.path))
    }

    /// `--tls auto`: HTTPS with a self-signed certificate whose printed SHA-256 fingerprint
    /// is the certificate's (as openssl computes it); plain HTTP is not served; a restart
    /// reuses the certificate; SIGTERM shuts down cleanly with exit status 0.
    @Test func tlsAutoAndGracefulShutdown() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ferry-tls-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let port = RawHTTP.freePort()
        let server = try FerrydProcess(data: dir, port: port, extra: ["--tls", "auto"])
        defer { server.terminate() }
        var out = ""
        for _ in 0..<200 where !out.contains("listening on https://") {
            try await Task.sleep(for: .milliseconds(50))
            out = server.output
        }
        let printed = try #require(out.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            .first { $0.count == 95 && $0.split(separator: ":").count == 32 })
        let (osslStatus, ossl) = try await Binaries.run("/usr/bin/env", ["openssl", "x509", "-noout", "-fingerprint", "-sha256", "-in", dir.appendingPathComponent("tls/cert.pem").path])
        #expect(osslStatus == 0 && ossl.contains(printed), "printed \(printed), openssl says \(ossl)")
        let keyMode = try FileManager.default.attributesOfItem(atPath: dir.appendingPathComponent("tls/key.pem").path)[.posixPermissions] as? Int
        #expect(keyMode == 0o600)
        var healthy = false
        for _ in 0..<100 where !healthy {
            let (status, body) = try await Binaries.run("/usr/bin/env", ["curl", "-sk", "https://127.0.0.1:\(port)/health"])
            healthy = status == 0 && body.contains("\"ok\"")
            if !healthy { try await Task.sleep(for: .milliseconds(50)) }
        }
        #expect(healthy)
        let (plainStatus, _) = try await Binaries.run("/usr/bin/env", ["curl", "-sf", "--max-time", "3", "http://127.0.0.1:\(port)/health"])
        #expect(plainStatus != 0, "plain HTTP answered on a TLS port")
        server.process.terminate()   // SIGTERM
        server.process.waitUntilExit()
        #expect(server.process.terminationStatus == 0, "graceful shutdown exits 0")

        let again = try FerrydProcess(data: dir, port: port + 1, extra: ["--tls", "auto"])
        defer { again.terminate() }
        for _ in 0..<200 where !again.output.contains("listening") { try await Task.sleep(for: .milliseconds(50)) }
        #expect(again.output.contains(printed), "restart must reuse the certificate")
    }
}

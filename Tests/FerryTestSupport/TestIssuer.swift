import FerrySystem
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The test OpenID Connect provider (scripts/oidc/test_issuer.py, on authlib) running on
/// loopback for one test: discovery, JWKS, rotating keys, GitHub Actions' token request
/// emulation and the device authorization grant. Stopped when closed or deinitialized
/// (closing its stdin ends it; SIGKILL if not).
public final class TestIssuer: @unchecked Sendable {
    public let issuer: String
    let process: ChildProcess
    let stdin: Pipe

    /// nil, with a loud SKIPPED line, when the test Python (FERRY_TEST_PYTHON, made by
    /// scripts/install-test-deps.sh) or authlib is missing.
    public static func start(_ test: String, clientID: String = "ferry-cli") -> TestIssuer? {
        let python = ProcessInfo.processInfo.environment["FERRY_TEST_PYTHON"] ?? "/var/tmp/ferry-test-venv/bin/python"
        guard FileManager.default.isExecutableFile(atPath: python) else {
            print("SKIPPED \(test): no test Python at \(python); run scripts/install-test-deps.sh")
            return nil
        }
        do { return try TestIssuer(python: python, clientID: clientID) } catch {
            print("SKIPPED \(test): the test issuer did not start (\(error)); is authlib installed (scripts/install-test-deps.sh)?")
            return nil
        }
    }

    init(python: String, clientID: String) throws {
        process = ChildProcess()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [BuiltProducts.packageRoot.appendingPathComponent("scripts/oidc/test_issuer.py").path, "--client-id", clientID]
        let out = Pipe()
        stdin = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        process.standardInput = stdin
        try process.run()
        var line = Data()
        let handle = out.fileHandleForReading
        while !line.contains(10) {
            let chunk = handle.availableData
            if chunk.isEmpty { break }
            line += chunk
        }
        struct Ready: Decodable { var issuer: String }
        guard let ready = try? JSONDecoder().decode(Ready.self, from: line) else {
            process.terminate()
            throw CommandFailure(command: ["test_issuer.py"], status: 1, output: String(decoding: line, as: UTF8.self))
        }
        issuer = ready.issuer
    }

    deinit { stop() }

    public func stop() {
        try? stdin.fileHandleForWriting.close()
        let deadline = Date().addingTimeInterval(3)
        while process.isRunning, Date() < deadline { usleep(20_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    /// A control request (JSON in, JSON out).
    @discardableResult
    public func control(_ path: String, _ body: [String: Any]? = nil) async throws -> [String: Any] {
        guard let url = URL(string: issuer + path) else { throw URLError(.badURL) }
        var req = URLRequest(url: url)
        if let body {
            req.httpMethod = "POST"
            req.setValue("application/json", forHTTPHeaderField: "Content-Type")
            req.httpBody = try JSONSerialization.data(withJSONObject: body)
        }
        let (data, _) = try await URLSession.shared.data(for: req)
        return (try JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? [:]
    }

    /// A signed ID token with these claims (iss, aud "ferry", iat, exp in 5 minutes, jti,
    /// sub are filled in unless given); `kid: "unknown"` signs with a key never published.
    /// Called after every mint: tests whose ferryd runs on a manual clock bring it up to
    /// the real time here, since the issuer stamps iat with the real time (a loaded machine
    /// can put minutes between a test's start and its exchange).
    nonisolated(unsafe) public var onMint: (@Sendable () -> Void)?

    public func mint(_ claims: [String: String], alg: String = "RS256", kid: String = "published", aud: String? = nil,
                     expiresIn: Int = 300, iatOffset: Int = 0) async throws -> String {
        var body: [String: Any] = ["claims": claims, "alg": alg, "kid": kid, "exp_in": expiresIn, "iat_offset": iatOffset]
        if let aud { body["aud"] = aud }
        let token = (try await control("/test/mint", body)["token"] as? String) ?? ""
        onMint?()
        return token
    }

    /// A new signing key (new kid); the old one stays published unless `dropOld`.
    @discardableResult
    public func rotate(alg: String = "RS256", dropOld: Bool = false) async throws -> String {
        (try await control("/test/rotate", ["alg": alg, "drop_old": dropOld])["kid"] as? String) ?? ""
    }

    /// How many times each endpoint was asked (jwks, discovery, token, device).
    public func stats() async throws -> [String: Int] {
        (try await control("/test/stats") as? [String: Int]) ?? [:]
    }
}

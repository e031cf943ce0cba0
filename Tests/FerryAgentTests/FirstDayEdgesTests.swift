import FerryAgent
import FerryCore
import FerryTestSupport
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The sharp edges a new team hits on its first day (issue 15), through the real `ferry`
/// and `ferryd`: each message says what happened and what to do, each exit code is the
/// documented one.
@Suite("First-day edges: the ferry command", .serialized)
struct FirstDayEdgesTests {
    struct Lab {
        let server: FerrydServer
        var admin: [String] { ["--url", server.url, "--token", server.adminToken] + (server.fingerprint.map { ["--fingerprint", $0] } ?? []) }

        init(extra: [String] = []) throws {
            server = try FerrydServer(extra: extra)
        }

        @discardableResult
        func ferry(_ args: [String], environment: [String: String] = [:]) throws -> CLI.Result {
            let r = try CLI.run(args, environment: environment)
            #expect(r.status == 0, "\(args): \(r.stderr)")
            return r
        }

        /// An enrolled state folder; the peer takes the token's name.
        func join(_ tokenName: String, segment: String = "developers") throws -> URL {
            let secret = try ferry(["tokens", "add", tokenName, "--scope", "enroll", "--segment", segment] + admin).stdout
                .trimmingCharacters(in: .whitespacesAndNewlines)
            let state = CLI.temporaryDirectory()
            var args = ["join", server.url, "--token", secret, "--interface", "fe\(UInt16.random(in: 0...9999))", "--state", state.path]
            if let fp = server.fingerprint { args += ["--fingerprint", fp] }
            try ferry(args)
            return state
        }
    }

    @Test func aRemovedMachineIsToldSoAndTheAgentStops() throws {
        let lab = try Lab()
        defer { lab.server.stop() }
        try lab.ferry(["segments", "add", "developers"] + lab.admin)
        let state = try lab.join("carol-laptop")
        defer { try? FileManager.default.removeItem(at: state) }
        try lab.ferry(["peers", "rm", "carol-laptop"] + lab.admin)
        let status = try CLI.run(["status", "--state", state.path])
        #expect(status.status == 0, "\(status.stderr)")
        #expect(status.stdout.contains("removed from the network") && !status.stdout.contains("unreachable"), "\(status.stdout)")
        // The agent does not retry forever: it says so and exits 8 (documented).
        let up = try CLI.run(["up", "--state", state.path])
        #expect(up.status == 8, "\(up.stderr)")
        #expect(up.stderr.contains("removed from the network") && up.stderr.contains("ferry join"), "\(up.stderr)")
        // The audit log names the token and peer beside their ids.
        let audit = try lab.ferry(["audit"] + lab.admin).stdout
        #expect(audit.contains("(carol-laptop)") && audit.contains("token.delete"), "\(audit)")
    }

    @Test func aKeyRotatedByTheAdminIsNamedAndRotateKeyRepairsIt() throws {
        let lab = try Lab()
        defer { lab.server.stop() }
        try lab.ferry(["segments", "add", "developers"] + lab.admin)
        let state = try lab.join("dave-laptop")
        defer { try? FileManager.default.removeItem(at: state) }
        try lab.ferry(["peers", "rotate-key", "dave-laptop"] + lab.admin)
        let status = try lab.ferry(["status", "--state", state.path]).stdout
        #expect(status.contains("another public key") && status.contains("ferry rotate-key"), "\(status)")
        let rotated = try lab.ferry(["rotate-key", "--state", state.path])
        let key = try String(contentsOf: state.appendingPathComponent("private.key"), encoding: .utf8)
        let pub = try CLI.run(["pubkey"], input: key).stdout.trimmingCharacters(in: .newlines)
        #expect(rotated.stdout.contains(pub))
        let peers = try FerryJSON.decoder().decode([PeerView].self, from: Data(lab.ferry(["peers", "ls", "--json"] + lab.admin).stdout.utf8))
        #expect(peers.first { $0.name == "dave-laptop" }?.publicKey == pub, "the coordinator has the key the file holds")
        #expect(!(try lab.ferry(["status", "--state", state.path]).stdout.contains("another public key")))
    }

    @Test func joinSaysWhatKindOfTokenAndCertificateItNeeds() throws {
        let lab = try Lab(extra: ["--tls", "auto"])
        defer { lab.server.stop() }
        let fp = try #require(lab.server.fingerprint)
        let state = CLI.temporaryDirectory()
        let admin = try CLI.run(["join", lab.server.url, "--token", lab.server.adminToken, "--fingerprint", fp, "--state", state.path])
        #expect(admin.status == 5 && admin.stderr.contains("needs an enrolment token"), "\(admin.stderr)")
        // No pin: the fingerprint to verify, no TLS library dump, no "join again" to a newcomer.
        let unpinned = try CLI.run(["join", lab.server.url, "--token", lab.server.adminToken, "--state", state.path])
        #expect(unpinned.status == 4, "\(unpinned.stderr)")
        #expect(unpinned.stderr.contains("not trusted") && unpinned.stderr.contains("--fingerprint \(fp)"), "\(unpinned.stderr)")
        #expect(!unpinned.stderr.contains("join again") && !unpinned.stderr.contains("BoringSSL"), "\(unpinned.stderr)")
        #expect(!FileManager.default.fileExists(atPath: state.path))
    }

    @Test func aCoordinatorThatNeverAnswersTimesOut() async throws {
        // A listening socket that is never read: the TCP handshake completes, TLS never does.
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
        #expect(listen(fd, 4) == 0)
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        let port = UInt16(bigEndian: addr.sin_port)
        // Through an untyped closure: a typed-throws catch here crashes this Swift compiler.
        let peek: () async throws -> [UInt8] = { try await CertificatePin.peek(url: "https://127.0.0.1:\(port)", timeoutSeconds: 1) }
        var message = "no error"
        do { _ = try await peek() } catch { message = (error as? FerryError)?.message ?? "\(error)" }
        #expect(message.contains("timed out") && !message.contains("--tls"), "\(message)")
    }

    @Test func usageErrorsExit64WithTheRules() throws {
        let state = CLI.temporaryDirectory()
        let fp = try CLI.run(["join", "https://127.0.0.1:9", "--token", "ferry_x", "--fingerprint", "12:34", "--state", state.path])
        #expect(fp.status == 64 && fp.stderr.contains("SHA-256"), "\(fp.stderr)")
        #expect(try CLI.run(["peers", "ls", "--url", "https://127.0.0.1:9", "--token", "t", "--fingerprint", "zz"]).status == 64)
        for ttl in ["0", "10y", "0s"] {
            let r = try CLI.run(["ci", "up", "--ttl", ttl], environment: ["FERRY_CI_TOKEN": "ferry_x", "FERRY_URL": "http://127.0.0.1:9"])
            #expect(r.status == 64 && r.stderr.contains("s, m, h or d") && r.stderr.contains("365d"), "\(ttl): \(r.stderr)")
        }
        let long = try CLI.run(["ci", "up", "--ttl", "400d"], environment: ["FERRY_CI_TOKEN": "ferry_x", "FERRY_URL": "http://127.0.0.1:9"])
        #expect(long.status == 64 && long.stderr.contains("too long"), "\(long.stderr)")
        #expect(!FileManager.default.fileExists(atPath: state.path))
    }

    @Test func aQRCodeNeedsThePrivateKey() throws {
        let lab = try Lab()
        defer { lab.server.stop() }
        try lab.ferry(["segments", "add", "phones"] + lab.admin)
        let keyFile = CLI.temporaryDirectory().path
        defer { unlink(keyFile) }
        try lab.ferry(["genkey", "-o", keyFile])
        let pub = try CLI.run(["pubkey"], input: String(contentsOfFile: keyFile, encoding: .utf8)).stdout.trimmingCharacters(in: .newlines)
        try lab.ferry(["peers", "add", "erin-phone", "--segment", "phones", "--public-key", pub] + lab.admin)
        let refused = try CLI.run(["config", "qr", "erin-phone"] + lab.admin)
        #expect(refused.status == 1 && refused.stderr.contains("--private-key-file") && refused.stdout.isEmpty, "\(refused.stderr)")
        let render = try lab.ferry(["config", "render", "erin-phone"] + lab.admin)
        #expect(render.stderr.contains("warning") && render.stderr.contains("--private-key-file"), "\(render.stderr)")
        let qr = try lab.ferry(["config", "qr", "erin-phone", "--private-key-file", keyFile] + lab.admin)
        #expect(!qr.stdout.isEmpty)
        let withKey = try lab.ferry(["config", "render", "erin-phone", "--private-key-file", keyFile] + lab.admin).stdout
        #expect(withKey.contains("PrivateKey = "), "\(withKey)")
    }

    @Test func windowsLineEndingsAreAccepted() throws {
        let text = "[Interface]\r\nPrivateKey = \(PrivateKeyText.sample)\r\nAddress = 10.0.0.2/32\r\n\r\n[Peer]\r\nPublicKey = \(PrivateKeyText.samplePublic)\r\nAllowedIPs = 10.0.0.0/24\r\nEndpoint = 192.0.2.1:51820\r\n"
        let config = try WGQuickConfig(parsing: text)
        #expect(config.peers.count == 1 && config.interface.addresses.count == 1)
        #expect(config == (try WGQuickConfig(parsing: text.replacingOccurrences(of: "\r\n", with: "\n"))))
    }

    @Test func gatewaysCanBeRemovedAndRotatedAndSayWhoMustReimport() throws {
        let lab = try Lab()
        defer { lab.server.stop() }
        try lab.ferry(["segments", "add", "developers"] + lab.admin)
        let gwKey = try CLI.run(["pubkey"], input: CLI.run(["genkey"]).stdout).stdout.trimmingCharacters(in: .newlines)
        try lab.ferry(["gateways", "add", "gw2", "--endpoint", "gw2.example.com:51820", "--subnet", "172.21.0.0/24", "--public-key", gwKey] + lab.admin)
        try lab.ferry(["peers", "add", "frank-phone", "--segment", "developers"] + lab.admin)
        let state = try lab.join("grace-laptop")
        defer { try? FileManager.default.removeItem(at: state) }
        let newKey = try CLI.run(["pubkey"], input: CLI.run(["genkey"]).stdout).stdout.trimmingCharacters(in: .newlines)
        let rotated = try lab.ferry(["gateways", "rotate-key", "gw2", "--public-key", newKey] + lab.admin).stdout
        #expect(rotated.contains(newKey) && rotated.contains("frank-phone") && !rotated.contains("grace-laptop"), "\(rotated)")
        try lab.ferry(["gateways", "rm", "gw2"] + lab.admin)
        #expect(!(try lab.ferry(["gateways", "ls"] + lab.admin).stdout.contains("gw2")))
        let audit = try lab.ferry(["audit"] + lab.admin).stdout
        #expect(audit.contains("gateway.delete") && audit.contains("(gw2)"), "\(audit)")
    }

    @Test func downSaysOneTrueThing() throws {
        let state = CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: state) }
        let lab = try Lab()
        defer { lab.server.stop() }
        try lab.ferry(["segments", "add", "developers"] + lab.admin)
        let joined = try lab.join("henry-laptop")
        defer { try? FileManager.default.removeItem(at: joined) }
        let down = try lab.ferry(["down", "--state", joined.path])
        #expect(down.stdout.contains("was not up") && !down.stderr.contains("stopping"), "\(down.stdout) \(down.stderr)")
    }

    @Test func metricsNeedATokenBeyondLoopbackAndTheCertificateNamesTheAddress() throws {
        let open = try FerrydServer(extra: ["--tls", "auto", "--tls-name", "ferry.example.test"], host: "0.0.0.0")
        defer { open.stop() }
        let cert = open.data.appendingPathComponent("db/tls/cert.pem").path
        func curl(_ args: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
            try CLI.tool(["curl", "-sS", "--max-time", "10", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", cert] + args)
        }
        // --cacert works against the address clients use: no -k.
        let health = try curl(["https://127.0.0.1:\(open.port)/health"])
        #expect(health.status == 0 && health.stdout == "200", "\(health.stderr)")
        let named = try curl(["--resolve", "ferry.example.test:\(open.port):127.0.0.1", "https://ferry.example.test:\(open.port)/health"])
        #expect(named.status == 0 && named.stdout == "200", "\(named.stderr)")
        #expect(try curl(["https://127.0.0.1:\(open.port)/metrics"]).stdout == "401")
        #expect(try curl(["-H", "Authorization: Bearer \(open.adminToken)", "https://127.0.0.1:\(open.port)/metrics"]).stdout == "200")
        let optOut = try FerrydServer(extra: ["--metrics-open"], host: "0.0.0.0")
        defer { optOut.stop() }
        #expect(try CLI.tool(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:\(optOut.port)/metrics"]).stdout == "200")
    }
}

/// A fixed key pair for parser tests (not a secret of anything).
enum PrivateKeyText {
    static let sample = "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk="
    static let samplePublic = "HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw="
}

@Suite("First-day edges: HTTP/1.0")
struct HTTP10Tests {
    /// Sends `request` to the server on loopback and reads until the server closes (or 5 s).
    func exchange(port: Int, _ request: String) -> (text: String, closed: Bool) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = UInt16(port).bigEndian
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard connected == 0 else { return ("", false) }
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        _ = request.withCString { send(fd, $0, strlen($0), 0) }
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n == 0 { return (String(decoding: out, as: UTF8.self), true) }
            if n < 0 { return (String(decoding: out, as: UTF8.self), false) }
            out += buffer[0..<n]
        }
    }

    @Test func anHTTP10RequestEndsItsConnection() throws {
        let server = try FerrydServer()
        defer { server.stop() }
        let old = exchange(port: server.port, "GET /health HTTP/1.0\r\n\r\n")
        #expect(old.text.contains("200") && old.closed, "closed: \(old.closed): \(old.text)")
        // HTTP/1.1 keeps it open (the read times out), unless it asks otherwise.
        #expect(!exchange(port: server.port, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n").closed)
        #expect(exchange(port: server.port, "GET /health HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").closed == false)
    }
}

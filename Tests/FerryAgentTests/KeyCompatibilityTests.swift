import Foundation
import Testing

/// `ferry genkey|pubkey|genpsk` against wg(8): the same text, both ways round.
@Suite("Key commands match wg")
struct KeyCompatibilityTests {
    static let haveWG = (try? CLI.tool(["wg", "--version"]).status) == 0

    @Test(.enabled(if: haveWG, "needs wg (scripts/install-test-deps.sh)"), arguments: 0..<5)
    func pubkeyBothWays(_ round: Int) throws {
        // ferry genkey -> wg pubkey == ferry pubkey
        let key = try CLI.run(["genkey"])
        #expect(key.status == 0)
        #expect(key.stdout.count == 45 && key.stdout.hasSuffix("=\n"), "one base64 key and a newline: \(key.stdout)")
        let wgPub = try CLI.tool(["wg", "pubkey"], input: key.stdout)
        let ferryPub = try CLI.run(["pubkey"], input: key.stdout)
        #expect(wgPub.status == 0 && ferryPub.status == 0)
        #expect(wgPub.stdout == ferryPub.stdout)
        #expect(ferryPub.stdout.count == 45)

        // wg genkey -> ferry pubkey == wg pubkey
        let wgKey = try CLI.tool(["wg", "genkey"])
        #expect(try CLI.run(["pubkey"], input: wgKey.stdout).stdout == CLI.tool(["wg", "pubkey"], input: wgKey.stdout).stdout)
    }

    @Test func genkeyIsClampedAndGenpskIsBase64() throws {
        let key = try CLI.run(["genkey"]).stdout.trimmingCharacters(in: .newlines)
        let bytes = try #require(Data(base64Encoded: key))
        #expect(bytes.count == 32)
        #expect(bytes[0] & 7 == 0 && bytes[31] & 0x80 == 0 && bytes[31] & 0x40 != 0, "clamped as wg genkey")
        let psk = try CLI.run(["genpsk"])
        #expect(psk.status == 0 && psk.stdout.count == 45 && psk.stdout.hasSuffix("\n"))
        #expect(Data(base64Encoded: psk.stdout.trimmingCharacters(in: .newlines))?.count == 32)
        #expect(try CLI.run(["genpsk"]).stdout != psk.stdout)
    }

    @Test(.enabled(if: haveWG, "needs wg")) func wgAcceptsGenpsk() throws {
        // wg reads a preshared key file the same way it reads ferry's.
        let dir = CLI.temporaryDirectory()
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("psk").path
        #expect(try CLI.run(["genpsk", "-o", file]).status == 0)
        let mode = try FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? Int
        #expect(mode == 0o600)
    }

    @Test func keyFilesAre0600() throws {
        let dir = CLI.temporaryDirectory()
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("k").path
        #expect(try CLI.run(["genkey", "-o", file]).status == 0)
        #expect(try FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? Int == 0o600)
        // A shell redirection: the file is made 0600 by ferry itself.
        let redirected = dir.appendingPathComponent("r").path
        #expect(try CLI.tool(["sh", "-c", "umask 022; '\(CLI.ferry)' genkey > '\(redirected)'"]).status == 0)
        #expect(try FileManager.default.attributesOfItem(atPath: redirected)[.posixPermissions] as? Int == 0o600)
        #expect(try CLI.run(["pubkey"], input: String(contentsOfFile: redirected, encoding: .utf8)).status == 0)
    }

    @Test func pubkeyRefusesGarbage() throws {
        let r = try CLI.run(["pubkey"], input: "not a key\n")
        #expect(r.status == 1)
        #expect(r.errorLines.count == 1)
        #expect(r.stdout.isEmpty)
    }
}

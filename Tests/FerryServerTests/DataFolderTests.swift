@testable import FerryServer
import Foundation
import Testing

@Suite("The data folder")
struct DataFolderTests {
    /// `ferryd check` and `ferryd token create` on a folder without a database refuse and
    /// create nothing (a mistyped --data must not start a new network).
    @Test func offlineCommandsRefuseAFolderWithoutADatabase() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ferryd-empty-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        for args in [["check", "--data", dir.path], ["token", "create", "--data", dir.path]] {
            let (status, output) = try Binaries.run(Binaries.ferryd.path, args)
            #expect(status != 0, "\(args): \(output)")
            #expect(output.contains("holds no ferryd database"), "\(output)")
        }
        #expect(!FileManager.default.fileExists(atPath: dir.path), "nothing created")
    }

    /// An existing folder is tightened to 0700; the database and the TLS files are 0600.
    @Test func modesAreTightenedOnStart() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ferryd-modes-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        var config = FerryConfiguration(dataDirectory: dir)
        config.tls = .auto
        _ = try await buildServices(config)
        func mode(_ path: String) throws -> Int { try #require(FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int) }
        #expect(try mode(dir.path) == 0o700)
        #expect(try mode(dir.appendingPathComponent("ferry.sqlite").path) == 0o600)
        #expect(try mode(dir.appendingPathComponent("tls/key.pem").path) == 0o600)
        #expect(try mode(dir.appendingPathComponent("tls/cert.pem").path) == 0o600)
    }
}

@Suite("Deployable units")
struct DeployUnitsTests {
    /// dist/*.service pass `systemd-analyze verify` without a single warning.
    @Test func systemdUnitsVerify() throws {
        let script = Binaries.packageRoot.appendingPathComponent("scripts/verify-units.sh").path
        let (status, output) = try Binaries.run("/bin/bash", [script, Binaries.ferryd.deletingLastPathComponent().path])
        print(output)
        if status == 77 { print("SKIPPED (no systemd-analyze): unit verification"); return }
        #expect(status == 0, "\(output)")
        #expect(output.contains("PASS: "))
    }
}

import FerryCore
import FerryTestSupport
import Foundation
import Testing

/// `ferry up` that fails after creating its interface leaves nothing behind.
@Suite("ferry up cleans up after itself (root, network namespace)")
struct UpCleanupTests {
    /// The "userspace WireGuard" here makes a TUN device no process serves with the interface's name: the
    /// interface exists, but no WireGuard configuration can be applied to it, so `ferry up`
    /// fails after creating it. The interface must be gone afterwards; one that existed
    /// before `ferry up` ran is left alone.
    @Test(.enabled(if: RootEnvironment.available))
    func failedUpRemovesTheInterfaceItCreated() throws {
        let ns = try NetworkNamespace(prefix: "fup")
        defer { ns.close() }
        let state = CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: state) }
        let fake = state.deletingLastPathComponent().appendingPathComponent("fake-wg-\(UUID().uuidString.prefix(8))")
        try "#!/bin/sh\nexec ip tuntap add dev \"$1\" mode tun\n".write(to: fake, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: fake.path)
        defer { try? FileManager.default.removeItem(at: fake) }

        let server = try FerrydServer()
        defer { server.stop() }
        let admin = ["--url", server.url, "--token", server.adminToken]
        #expect(try CLI.run(["segments", "add", "developers"] + admin).status == 0)
        let secret = try CLI.run(["tokens", "add", "up", "--scope", "enroll", "--segment", "developers"] + admin)
            .stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let ifname = uniqueName("fup")
        #expect(try CLI.run(["join", server.url, "--token", secret, "--interface", ifname, "--state", state.path]).status == 0)

        // In the namespace the coordinator is unreachable: ferry up starts from the saved map.
        let ferry = BuiltProducts.executable("ferry").path
        let up = try CLI.tool(["ip", "netns", "exec", ns.name, ferry, "up", "--state", state.path, "--userspace", fake.path])
        #expect(up.status != 0, "ferry up on a link that cannot carry WireGuard must fail: \(up.stderr)")
        #expect(up.stderr.contains("created"), "\(up.stderr)")
        #expect((try? ns.exec(["ip", "link", "show", ifname])) == nil, "the interface ferry up created is still there: \(up.stderr)")

        // An interface that was there before is not ferry up's to remove.
        try ns.exec(["ip", "tuntap", "add", "dev", ifname, "mode", "tun"])
        let again = try CLI.tool(["ip", "netns", "exec", ns.name, ferry, "up", "--state", state.path, "--userspace", fake.path])
        #expect(again.status != 0)
        #expect((try? ns.exec(["ip", "link", "show", ifname])) != nil, "an interface ferry up did not create was removed")
    }
}

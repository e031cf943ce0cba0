import FerryTestSupport
import Foundation
import Testing
import WireGuard

/// `wg-quick up` and `down` with WG_QUICK_USERSPACE_IMPLEMENTATION=ferry-wg (the kernel has
/// no WireGuard module, so wg-quick falls back to it), against wireguard-go. The config uses
/// Address, ListenPort, PrivateKey, MTU and a peer with PublicKey, AllowedIPs, Endpoint and
/// PersistentKeepalive; no DNS and no full tunnel, which would need resolvconf and firewall
/// rules outside the namespace.
///
/// wireguard-go is set up with `wg`, not wg-quick: its background daemon keeps every
/// descriptor it inherits, among them the socket Foundation's `Process` watches for the
/// child's exit, so a test that runs `wg-quick up` for it waits forever. (ferry-wg's
/// daemon inherits only its TUN, UAPI and readiness descriptors.)
@Suite(.serialized, .needsRootAndFerryWG)
struct WGQuickTests {
    static func config(key: PrivateKey, peer: PublicKey) -> String {
        """
        [Interface]
        Address = 10.70.0.1/24, fd70::1/64
        ListenPort = 51820
        PrivateKey = \(key.base64)
        MTU = 1380

        [Peer]
        PublicKey = \(peer.base64)
        AllowedIPs = 10.70.0.2/32, fd70::2/128
        Endpoint = 192.168.70.2:51820
        PersistentKeepalive = 25

        """
    }

    @Test func upCarriesTrafficAndDownStopsTheDaemon() throws {
        let left = try NetworkNamespace(prefix: "fql"), right = try NetworkNamespace(prefix: "fqr")
        let directory = NSTemporaryDirectory() + uniqueName("wgq")
        let name = uniqueName("fq")
        var reference: WGInterface?
        defer {
            reference?.close()
            if left.hasInterface(name) { _ = try? left.exec(["ip", "link", "del", name]) }
            for pid in Processes.daemons(interface: name) { kill(pid, SIGKILL) }
            left.close()
            right.close()
            try? FileManager.default.removeItem(atPath: directory)
        }
        _ = try left.link(to: right, address: "192.168.70.1/24", peerAddress: "192.168.70.2/24")
        let peer = try WGInterface(.wireguardGo, in: right)
        reference = peer
        let key = PrivateKey.generate()
        try peer.addPeer(key.publicKey, allowedIPs: ["10.70.0.1/32", "fd70::1/128"], endpoint: "192.168.70.1:51820")
        try peer.up(addresses: ["10.70.0.2/24", "fd70::2/64"])

        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        let path = "\(directory)/\(name).conf"
        #expect(FileManager.default.createFile(atPath: path, contents: Data(WGQuickTests.config(key: key, peer: peer.publicKey).utf8),
                                               attributes: [.posixPermissions: 0o600]))
        let environment = ["WG_QUICK_USERSPACE_IMPLEMENTATION": FerryWGBinary.path]
        try left.exec(["wg-quick", "up", path], environment: environment)

        let link = try left.exec(["ip", "link", "show", "dev", name])
        #expect(link.contains("mtu 1380") && link.contains(",UP"), "\(link)")
        let dump = try left.exec(["wg", "show", name, "dump"]).split(separator: "\n").map { $0.split(separator: "\t").map(String.init) }
        #expect(dump.count == 2 && dump[0].count == 4 && dump[0][0] == key.base64 && dump[0][2] == "51820", "\(dump)")
        #expect(dump.count == 2 && dump[1].count == 8 && dump[1][0] == peer.publicKey.base64 && dump[1][2] == "192.168.70.2:51820"
                && dump[1][3] == "10.70.0.2/32,fd70::2/128" && dump[1][7] == "25", "\(dump)")
        for (mine, theirs) in [("10.70.0.1", "10.70.0.2"), ("fd70::1", "fd70::2")] {
            try left.exec(["ping", "-c", "3", "-i", "0.2", "-W", "2", "-w", "10", theirs])
            try right.exec(["ping", "-c", "3", "-i", "0.2", "-W", "2", "-w", "10", mine])
        }
        _ = try Iperf.run(server: right, address: "10.70.0.2", client: left, seconds: 1)

        let daemons = Processes.daemons(interface: name)
        #expect(daemons.count == 1, "ferry-wg daemons for \(name): \(daemons)")
        try left.exec(["wg-quick", "down", path], environment: environment)
        #expect(!left.hasInterface(name))
        #expect(waitUntil(timeout: 10) { daemons.allSatisfy { !Processes.isAlive($0) } }, "ferry-wg still runs after wg-quick down")
        #expect(waitUntil(timeout: 5) { !FileManager.default.fileExists(atPath: uapiSocketPath(name)) })
    }
}

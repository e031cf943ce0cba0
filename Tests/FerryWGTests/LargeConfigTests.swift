import FerryTestSupport
import Foundation
import Testing
import WireGuard

/// A large configuration: 1,000 peers with 10 allowed-IP prefixes each, set with
/// `wg setconf` and read back identical with `wg showconf` (peers in the order configured,
/// as the kernel keeps them); then changed with `wg syncconf` and read back again.
@Suite(.serialized, .needsRootAndFerryWG)
struct LargeConfigTests {
    @Test func thousandPeersRoundTripThroughSetconfAndShowconf() throws {
        let ns = try NetworkNamespace(prefix: "fbig")
        let ferry = try WGInterface(.ferry, in: ns)
        defer {
            ferry.close()
            ns.close()
        }
        let file = NSTemporaryDirectory() + uniqueName("big") + ".conf"
        defer { try? FileManager.default.removeItem(atPath: file) }
        func apply(_ config: WGConfig, with command: String) throws -> WGConfig {
            #expect(FileManager.default.createFile(atPath: file, contents: Data(config.text.utf8), attributes: [.posixPermissions: 0o600]))
            let start = Date()
            try ferry.wg([command, ferry.name, file])
            print("wg \(command) of \(config.peers.count) peers: \(Int(Date().timeIntervalSince(start) * 1000)) ms")
            return try WGConfig(parsing: try ferry.wg(["showconf", ferry.name]))
        }

        var config = WGConfig.large(peers: 1000)
        let shown = try apply(config, with: "setconf")
        #expect(shown.peers.count == 1000)
        #expect(shown.peers.map(\.publicKey) == config.peers.map(\.publicKey), "peer order differs")
        let same = shown == config
        #expect(same, "first difference: \(firstDifference(shown, config))")

        // syncconf: drop 100 peers, change allowed IPs, endpoints, preshared keys and keepalives
        // of others (syncconf changes only what the file states, so nothing is left out), add 50.
        config.peers.removeSubrange(100..<200)
        for i in stride(from: 0, to: 300, by: 7) {
            config.peers[i].allowedIPs.remove(config.peers[i].allowedIPs.sorted()[0])
            config.peers[i].endpoint = "198.51.100.\(i % 200 + 1):\(2000 + i)"
            config.peers[i].presharedKey = PresharedKey.generate().base64
            config.peers[i].persistentKeepalive = 15
        }
        config.peers += WGConfig.large(peers: 1050).peers.suffix(50)
        config.listenPort = 51999
        let synced = try apply(config, with: "syncconf")
        #expect(Set(synced.peers.map(\.publicKey)) == Set(config.peers.map(\.publicKey)))
        let syncedSame = synced.peers.sorted { $0.publicKey < $1.publicKey } == config.peers.sorted { $0.publicKey < $1.publicKey }
        #expect(syncedSame, "first difference: \(firstDifference(synced, config))")
        #expect(synced.listenPort == 51999 && synced.privateKey == config.privateKey && synced.fwmark == config.fwmark)
    }

    private func firstDifference(_ a: WGConfig, _ b: WGConfig) -> String {
        if a.privateKey != b.privateKey || a.listenPort != b.listenPort || a.fwmark != b.fwmark {
            return "interface: \(a.listenPort as Any) \(a.fwmark as Any) vs \(b.listenPort as Any) \(b.fwmark as Any)"
        }
        let theirs = Dictionary(b.peers.map { ($0.publicKey, $0) }, uniquingKeysWith: { x, _ in x })
        for peer in a.peers where theirs[peer.publicKey] != peer {
            return "shown \(peer) vs configured \(theirs[peer.publicKey].map { "\($0)" } ?? "none")"
        }
        return a.peers.count != b.peers.count ? "peer counts \(a.peers.count) vs \(b.peers.count)" : "order only"
    }
}

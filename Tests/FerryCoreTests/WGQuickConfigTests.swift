import FerryCore
import Foundation
import Testing
import WireGuard

@Suite("wg-quick config")
struct WGQuickConfigTests {
    static let sample = """
    # a comment
    [Interface]
    PrivateKey = yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=
    Address = 10.10.1.5/32, fd00::105/128
    ListenPort = 51820
    DNS = 10.10.0.1, corp.example
    MTU = 1420
    PostUp = nft -f /etc/wireguard/%i.nft   # trailing comment
    Table = off

    [Peer]
    PublicKey = xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=
    PresharedKey = 4jNxx4Dd8aRlDn1xb1nVbZlvC8dWB7RCwuK/WBzLI7c=
    AllowedIPs = 10.10.0.1/32, 172.20.0.0/24
    AllowedIPs = ::/0
    Endpoint = gw.example.com:51820
    PersistentKeepalive = 25
    """

    @Test func parsesWhatWGQuickTakes() throws {
        let c = try WGQuickConfig(parsing: Self.sample)
        #expect(c.interface.privateKey?.publicKey.base64 == "HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw=")
        #expect(c.interface.addresses.map(\.description) == ["10.10.1.5/32", "fd00::105/128"])
        #expect(c.interface.dns == ["10.10.0.1", "corp.example"])
        #expect(c.interface.postUp == ["nft -f /etc/wireguard/%i.nft"])
        #expect(c.interface.table == "off")
        #expect(c.peers.count == 1)
        #expect(c.peers[0].allowedIPs.map(\.description) == ["10.10.0.1/32", "172.20.0.0/24", "::/0"])
        #expect(c.peers[0].endpoint?.description == "gw.example.com:51820")
        #expect(c.peers[0].presharedKey != nil)
    }

    @Test func renderThenParseIsIdentity() throws {
        let c = try WGQuickConfig(parsing: Self.sample)
        let again = try WGQuickConfig(parsing: c.render())
        #expect(again.interface == c.interface)
        #expect(again.peers.map(\.publicKey) == c.peers.map(\.publicKey))
        #expect(again.peers.map(\.allowedIPs) == c.peers.map(\.allowedIPs))
        #expect(!c.renderForWG().contains("Address"), "wg setconf refuses wg-quick keys")
        #expect(c.renderForWG().contains("PrivateKey"))
    }

    @Test func missingPrivateKeyIsLeftAsANote() throws {
        var c = try WGQuickConfig(parsing: Self.sample)
        c.interface.privateKey = nil
        let text = c.render()
        #expect(text.contains("# PrivateKey = <this device's private key"))
        #expect(try WGQuickConfig(parsing: text).interface.privateKey == nil)
    }

    @Test(arguments: [
        ("[Peer]\nPublicKey = x", 2),
        ("[Interface]\nAddress = 10.0.0.1/33", 2),
        ("[Interface]\nFoo = bar", 2),
        ("[Interface]\n[Interface]", 2),
        ("[Interface]\n[Peer]\nAllowedIPs = 10.0.0.0/8", 3),
        ("PrivateKey = abc", 1),
        ("[Interface]\nMTU = 99999999999999999999", 2),
        ("[Interface]\n[Peer]\nPublicKey = xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=\nEndpoint = nowhere", 4),
        ("", 1),
    ])
    func refusesBadFilesNamingTheLine(text: String, line: Int) {
        #expect(throws: WGQuickParseError.self) { try WGQuickConfig(parsing: text) }
        do { _ = try WGQuickConfig(parsing: text) } catch { #expect(error.line == line, "\(error)") }
    }

    /// Random bytes and random mutations of a good file never trap.
    @Test func garbageNeverTraps() {
        var rng = SystemRandomNumberGenerator()
        let base = Array(Self.sample.utf8)
        for i in 0..<3000 {
            var bytes = base
            if i % 3 == 0 {
                bytes = (0..<Int.random(in: 0..<300, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            } else {
                for _ in 0..<Int.random(in: 1...8, using: &rng) where !bytes.isEmpty {
                    bytes[Int.random(in: 0..<bytes.count, using: &rng)] = UInt8.random(in: 0...127, using: &rng)
                }
            }
            _ = try? WGQuickConfig(parsing: String(decoding: bytes, as: UTF8.self))
        }
    }

    @Test func wgDumpParses() {
        let dump = "priv\tpub\t51820\toff\n"
            + "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=\t(none)\t198.51.100.2:40000\t10.10.1.5/32,fd00::105/128\t1767225600\t1000\t2000\toff\n"
            + "garbage line\n"
        let peers = WGDump.parse(dump)
        #expect(peers.count == 1)
        #expect(peers[0].endpoint?.description == "198.51.100.2:40000" && peers[0].rxBytes == 1000 && peers[0].txBytes == 2000)
        #expect(peers[0].allowedIPs.count == 2 && peers[0].latestHandshake == 1767225600)
    }
}

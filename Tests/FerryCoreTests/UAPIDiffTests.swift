import FerryCore
import Testing
import WireGuard

@Suite("UAPI diff")
struct UAPIDiffTests {
    @Test func touchesOnlyWhatDiffers() throws {
        let a = PrivateKey.generate().publicKey, b = PrivateKey.generate().publicKey, c = PrivateKey.generate().publicKey
        let key = PrivateKey.generate()
        let current = UAPIDeviceStatus(privateKey: key, listenPort: 51820, peers: [
            UAPIPeerStatus(publicKey: a, allowedIPs: [IPPrefix("10.10.1.1/32")!]),
            UAPIPeerStatus(publicKey: b, allowedIPs: [IPPrefix("10.10.1.2/32")!]),
        ])
        var desired = WGQuickConfig()
        desired.interface.privateKey = key
        desired.interface.listenPort = 51820
        var pa = WGQuickConfig.Peer(publicKey: a)
        pa.allowedIPs = [IPPrefix("10.10.1.1/32")!]
        var pc = WGQuickConfig.Peer(publicKey: c)
        pc.allowedIPs = [IPPrefix("10.10.1.3/32")!, IPPrefix("fd00::103/128")!]
        desired.peers = [pa, pc]
        let req = try #require(UAPIDiff.request(from: current, to: desired))
        #expect(req.device.isEmpty)
        #expect(req.peers.map(\.publicKey) == [b, c])
        #expect(req.peers[0].changes == [.remove])
        #expect(req.peers[1].changes.first == .replaceAllowedIPs && req.peers[1].changes.count == 3)
        let text = UAPI.render(req)
        #expect(text.hasPrefix("set=1\n") && text.hasSuffix("\n\n"))
        #expect(try UAPI.parse(text) == .set(req))

        // Applied, nothing is left to do; a new key is one device line.
        let after = UAPIDeviceStatus(privateKey: key, listenPort: 51820, peers: [
            UAPIPeerStatus(publicKey: a, allowedIPs: [IPPrefix("10.10.1.1/32")!]),
            UAPIPeerStatus(publicKey: c, allowedIPs: [IPPrefix("fd00::103/128")!, IPPrefix("10.10.1.3/32")!]),
        ])
        #expect(UAPIDiff.request(from: after, to: desired) == nil)
        let newKey = PrivateKey.generate()
        desired.interface.privateKey = newKey
        #expect(UAPIDiff.request(from: after, to: desired)?.device == [.privateKey(newKey)])
    }
}

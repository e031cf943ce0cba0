import Foundation
import FerryCore
import Testing
import WireGuard
@testable import FerryAgent

@Suite("Doctor: keys and allowed IPs agree on both ends")
struct DoctorConfigChecksTests {
    @Test func keysAgree() async {
        let fx = DoctorFixture()
        let r = await KeysCheck(local: fx.local, coordinator: fx.coordinator).run()
        #expect(r.status == .pass, "\(r)")
        #expect(r.fix.isEmpty)
    }

    @Test func interfaceUsesAnotherKey() async {
        var fx = DoctorFixture()
        fx.local.device.privateKey = PrivateKey.generate()
        let r = await KeysCheck(local: fx.local, coordinator: fx.coordinator, privateKeyPath: "/var/lib/ferry/private.key").run()
        #expect(r.status == .fail)
        #expect(r.message.contains("the coordinator has \(fx.me.publicKey.base64.prefix(8))"))
        #expect(r.fix.contains { $0.contains("wg set wgtest0 private-key /var/lib/ferry/private.key") })
    }

    @Test func interfaceWithoutKey() async {
        var fx = DoctorFixture()
        fx.local.device.privateKey = nil
        let r = await KeysCheck(local: fx.local, coordinator: fx.coordinator).run()
        #expect(r.status == .fail)
        #expect(r.message.contains("no private key"))
    }

    @Test func staleGatewayKeyIsNamedWithTheNewOne() async {
        var fx = DoctorFixture()
        let old = PrivateKey.generate().publicKey
        fx.gatewayPeer = UAPIPeerStatus(publicKey: old, endpoint: fx.gatewayPeer.endpoint, allowedIPs: fx.gatewayPeer.allowedIPs)
        let r = await KeysCheck(local: fx.local, coordinator: fx.coordinator).run()
        #expect(r.status == .fail)
        #expect(r.message.contains("gateway gw1 is on wgtest0 with key \(old.base64.prefix(8))"))
        #expect(r.fix.count == 1)
        #expect(r.fix[0].contains("wg set wgtest0 peer \(old.base64) remove"))
        #expect(r.fix[0].contains("PublicKey = \(fx.gateway.base64)"))
    }

    @Test func unknownAndMissingPeers() async {
        var fx = DoctorFixture()
        let stranger = UAPIPeerStatus(publicKey: PrivateKey.generate().publicKey)
        fx.local.device.peers.append(stranger)
        var r = await KeysCheck(local: fx.local, coordinator: fx.coordinator).run()
        #expect(r.status == .fail)
        #expect(r.fix == ["remove it: `wg set wgtest0 peer \(stranger.publicKey.base64) remove`, or run `ferry up`"])

        fx.local.device.peers = []
        r = await KeysCheck(local: fx.local, coordinator: fx.coordinator).run()
        #expect(r.status == .fail)
        #expect(r.message.contains("gateway gw1 (key \(fx.gateway.base64.prefix(8))…) is not on wgtest0"))
    }

    @Test func disabledPeer() async {
        var fx = DoctorFixture()
        fx.coordinator.map.enabled = false
        fx.coordinator.map.peers = []
        let r = await KeysCheck(local: fx.local, coordinator: fx.coordinator).run()
        #expect(r.status == .fail)
        #expect(r.message.contains("disabled"))
    }

    @Test func allowedIPsAgreeWhateverTheOrder() async {
        var fx = DoctorFixture()
        // Host bits as written and another order are the same table.
        fx.gatewayPeer.allowedIPs = ["fd10::1/128", "172.20.0.9/24", "10.10.0.1/32"].prefixes
        let r = await AllowedIPsCheck(local: fx.local, coordinator: fx.coordinator).run()
        #expect(r.status == .pass, "\(r)")
    }

    @Test func wrongAllowedIPsGetTheCoordinatorsList() async {
        var fx = DoctorFixture()
        fx.gatewayPeer.allowedIPs = ["10.10.0.1/32", "fd10::1/128", "10.99.0.0/24"].prefixes
        let r = await AllowedIPsCheck(local: fx.local, coordinator: fx.coordinator).run()
        #expect(r.status == .fail)
        #expect(r.message.contains("missing 172.20.0.0/24"))
        #expect(r.message.contains("not the coordinator's 10.99.0.0/24"))
        #expect(r.fix == ["set AllowedIPs = 10.10.0.1/32, fd10::1/128, 172.20.0.0/24 on the [Peer] of gw1: "
                          + "`wg set wgtest0 peer \(fx.gateway.base64) allowed-ips 10.10.0.1/32,fd10::1/128,172.20.0.0/24`, or run `ferry up`"])
    }

    @Test func aPeerMissingFromTheInterfaceIsLeftToTheKeysCheck() async {
        var fx = DoctorFixture()
        fx.local.device.peers = []
        let r = await AllowedIPsCheck(local: fx.local, coordinator: fx.coordinator).run()
        #expect(r.status == .pass)
    }

    @Test func theGatewaysEndOfOurAddresses() async {
        var fx = DoctorFixture()
        fx.local.addresses = ["10.10.1.6/32", "fd10::105/128"].prefixes
        let r = await AllowedIPsCheck(local: fx.local, coordinator: fx.coordinator).run()
        #expect(r.status == .fail)
        #expect(r.message.contains("the gateway routes 10.10.1.5, fd10::105 to this peer"))
        #expect(r.fix == ["set Address = 10.10.1.5/32, fd10::105/128 on wgtest0: `ip address add 10.10.1.5/32 dev wgtest0`, or run `ferry up`"])
    }
}

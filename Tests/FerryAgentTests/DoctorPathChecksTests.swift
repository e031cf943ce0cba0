import Foundation
import FerryCore
import Testing
import WireGuard
@testable import FerryAgent

@Suite("Doctor: routes, handshake and path MTU")
struct DoctorPathChecksTests {
    let gw = IPAddress("10.10.0.1")!

    // MARK: routes

    @Test func sampleAddresses() {
        #expect(RoutesCheck.sampleAddress(in: IPPrefix("10.10.0.1/32")!) == IPAddress("10.10.0.1"))
        #expect(RoutesCheck.sampleAddress(in: IPPrefix("172.20.0.0/24")!) == IPAddress("172.20.0.1"))
        #expect(RoutesCheck.sampleAddress(in: IPPrefix("172.20.0.77/24")!) == IPAddress("172.20.0.1"))
        #expect(RoutesCheck.sampleAddress(in: IPPrefix("fd10::/64")!) == IPAddress("fd10::1"))
        #expect(RoutesCheck.sampleAddress(in: IPPrefix("fd10::1/128")!) == IPAddress("fd10::1"))
        #expect(RoutesCheck.sampleAddress(in: IPPrefix("0.0.0.0/0")!) == IPAddress("1.1.1.1"))
        #expect(RoutesCheck.sampleAddress(in: IPPrefix("::/0")!) == IPAddress("2606:4700:4700::1111"))
    }

    @Test func everyPrefixThroughTheInterface() async {
        let routes = TableRoutes(table: [:], fallback: RouteInfo(device: "wgtest0"))
        let r = await RoutesCheck(interface: "wgtest0", prefixes: DoctorFixture().gatewayAllowed.prefixes, routes: routes).run()
        #expect(r.status == .pass, "\(r)")
        #expect(r.message.contains("3 prefixes"))
    }

    @Test func aPrefixLeavingElsewhereOrNowhere() async {
        let routes = TableRoutes(table: [IPAddress("172.20.0.1")!: RouteInfo(device: "eth0", via: "192.0.2.1"),
                                         IPAddress("10.10.0.1")!: RouteInfo(device: "wgtest0")], fallback: nil)
        let r = await RoutesCheck(interface: "wgtest0", prefixes: DoctorFixture().gatewayAllowed.prefixes, routes: routes).run()
        #expect(r.status == .fail)
        #expect(r.message.contains("172.20.0.0/24: 172.20.0.1 goes via 192.0.2.1 on eth0, not wgtest0"))
        #expect(r.message.contains("fd10::1/128: no route to fd10::1"))
        #expect(r.fix.contains { $0.hasPrefix("route 172.20.0.0/24 into the tunnel: `ip route replace 172.20.0.0/24 dev wgtest0`") })
        #expect(r.fix.contains { $0.hasPrefix("route fd10::1/128 into the tunnel: `ip route replace fd10::1/128 dev wgtest0`") })
    }

    @Test func anUnreachableRoute() async {
        let routes = TableRoutes(table: [:], fallback: RouteInfo(device: nil, type: "blackhole"))
        let r = await RoutesCheck(interface: "wgtest0", prefixes: ["172.20.0.0/24"].prefixes, routes: routes).run()
        #expect(r.status == .fail)
        #expect(r.message == "172.20.0.0/24: 172.20.0.1 is blackhole")
    }

    // MARK: handshake

    func handshake(_ fx: DoctorFixture, reader: ScriptedReader, pinger: RulePinger, udp: UDPPortOutcome = .silent) async -> DoctorResult {
        await HandshakeCheck(interface: "wgtest0", coordinator: fx.coordinator, reader: reader, pinger: pinger, udp: FixedUDP(outcome: udp),
                             sleeper: NoSleep(), timeout: .seconds(5), nowSeconds: 1_700_000_040).run()
    }

    @Test func aNewHandshakeIsAnAnswer() async {
        let fx = DoctorFixture()
        var after = fx.local.device
        after.peers[0].lastHandshakeTimeSec += 41
        let reader = ScriptedReader([fx.local.device, fx.local.device, after])
        let r = await handshake(fx, reader: reader, pinger: RulePinger { _, _ in .noReply })
        #expect(r.status == .pass, "\(r)")
        #expect(r.message.contains("gw1 (handshake at 192.168.77.1:51820)"))
    }

    @Test func bytesBackOverTheCurrentSessionAreAnAnswer() async {
        let fx = DoctorFixture()
        var after = fx.local.device
        after.peers[0].rxBytes += 124
        let r = await handshake(fx, reader: ScriptedReader([fx.local.device, after]), pinger: RulePinger { _, _ in .noReply })
        #expect(r.status == .pass)
        #expect(r.message.contains("124 bytes back"))
    }

    @Test func thePingGoesToTheGatewaysOwnAddress() async {
        let fx = DoctorFixture()
        let pinger = RulePinger { target, _ in target == IPAddress("10.10.0.1") ? .reply : .noReply }
        let r = await handshake(fx, reader: ScriptedReader([fx.local.device]), pinger: pinger)
        #expect(r.status == .pass)
        #expect(r.message.contains("10.10.0.1 replied"))
    }

    @Test func silenceBehindADroppingFirewall() async {
        let fx = DoctorFixture()
        let reader = ScriptedReader([fx.local.device])
        let r = await handshake(fx, reader: reader, pinger: RulePinger { _, _ in .noReply })
        #expect(r.status == .fail)
        #expect(r.message == "gateway gw1 at 192.168.77.1:51820: no handshake and no reply within 5 s (last handshake 40 s ago)")
        #expect(r.fix.count == 1)
        #expect(r.fix[0].hasPrefix("open UDP port 51820 on the gateway's firewall (inbound to 192.168.77.1:51820)"))
        // It watched the interface for the whole timeout.
        #expect(reader.reads == 1 + 25)
    }

    @Test func silenceWithPortUnreachable() async {
        var fx = DoctorFixture()
        fx.gatewayPeer.lastHandshakeTimeSec = 0
        let r = await handshake(fx, reader: ScriptedReader([fx.local.device]), pinger: RulePinger { _, _ in .noReply }, udp: .refused)
        #expect(r.status == .fail)
        #expect(r.message.contains("never had a handshake"))
        #expect(r.message.contains("UDP port 51820 there answers port unreachable"))
        #expect(r.fix[0].contains("nothing listens on UDP 192.168.77.1:51820"))
    }

    @Test func silenceAtTheWrongEndpoint() async {
        var fx = DoctorFixture()
        fx.gatewayPeer.endpoint = Endpoint("192.168.77.9:51820")
        let r = await handshake(fx, reader: ScriptedReader([fx.local.device]), pinger: RulePinger { _, _ in .noReply },
                                udp: .unreachable("No route to host"))
        #expect(r.status == .fail)
        #expect(r.message.contains("wgtest0 dials 192.168.77.9:51820 but the coordinator says 192.168.77.1:51820"))
        #expect(r.fix[0] == "set Endpoint = 192.168.77.1:51820: `wg set wgtest0 peer \(fx.gateway.base64) endpoint 192.168.77.1:51820`, or run `ferry up`")
        #expect(r.fix[1].contains("route to 192.168.77.9"))
    }

    @Test func noEndpointOnTheInterface() async {
        var fx = DoctorFixture()
        fx.gatewayPeer.endpoint = nil
        let r = await handshake(fx, reader: ScriptedReader([fx.local.device]), pinger: RulePinger { _, _ in .reply })
        #expect(r.status == .fail)
        #expect(r.fix[0].hasPrefix("set Endpoint = 192.168.77.1:51820 on the [Peer] of gw1"))
    }

    // MARK: MTU

    func mtu(_ pinger: RulePinger, mtu: Int? = 1420, target: IPAddress? = IPAddress("10.10.0.1")) async -> DoctorResult {
        await PathMTUCheck(interface: "wgtest0", target: target, mtu: mtu, pinger: pinger, peerID: "p_alice").run()
    }

    @Test func theMTUFits() async {
        let pinger = RulePinger.path(carrying: 1420)
        let r = await mtu(pinger)
        #expect(r.status == .pass)
        #expect(pinger.sizes == [1420])
    }

    @Test(arguments: [1344, 1280, 1400, 1419, 577, 200])
    func theLargestPacketThatCrossesIsTheSuggestion(limit: Int) async {
        let pinger = RulePinger.path(carrying: limit)
        let r = await mtu(pinger)
        #expect(r.status == .fail)
        #expect(r.details["suggestedMTU"] == "\(limit)")
        #expect(r.fix[0] == "set MTU = \(limit) on wgtest0: `ip link set dev wgtest0 mtu \(limit)` (MTU = \(limit) in its [Interface])")
        #expect(r.fix[1].contains("PATCH /v1/peers/p_alice {\"mtu\":\(limit)}"))
        #expect(r.fix.contains { $0.contains("no IPv6") } == (limit < 1280))
        // A binary search: a handful of sizes, lost ones tried twice.
        #expect(pinger.sizes.count <= 2 * 16, "\(pinger.sizes)")
    }

    @Test func oneLostProbeIsTriedAgain() async {
        let once = Once()
        let flaky = RulePinger { _, size in once.first() ? .noReply : (size <= 1420 ? .reply : .noReply) }
        #expect(await mtu(flaky).status == .pass)
        #expect(flaky.sizes == [1420, 1420])
    }

    @Test func aRouteMTUBelowTheInterfacesIsSearchedUnder() async {
        let pinger = RulePinger { _, size in size > 1400 ? .tooLarge(mtu: 1400) : .reply }
        let r = await mtu(pinger)
        #expect(r.status == .fail)
        #expect(r.details["suggestedMTU"] == "1400")
    }

    @Test func nothingCrosses() async {
        let r = await mtu(RulePinger { _, _ in .noReply })
        #expect(r.status == .fail)
        #expect(r.message.contains("not even 68-byte packets"))
        let r6 = await mtu(RulePinger.path(carrying: 1200), target: IPAddress("fd10::1"))
        #expect(r6.status == .fail)
        #expect(r6.fix[0].contains("IPv6 needs 1280"))
    }

    @Test func nothingToProbe() async {
        #expect(await mtu(RulePinger.path(carrying: 1420), target: nil).status == .skip)
        #expect(await mtu(RulePinger.path(carrying: 1420), mtu: nil).status == .skip)
    }

    @Test func theMTUProbeWaitsForAnAnsweringEndpoint() async {
        let fx = DoctorFixture()
        let pinger = RulePinger { _, _ in .noReply }
        let doctor = Doctor(checks: [
            HandshakeCheck(interface: "wgtest0", coordinator: fx.coordinator, reader: ScriptedReader([fx.local.device]), pinger: pinger,
                           udp: FixedUDP(outcome: .silent), sleeper: NoSleep(), nowSeconds: 1_700_000_040),
            PathMTUCheck(interface: "wgtest0", target: gw, mtu: 1420, pinger: pinger),
        ])
        let results = await doctor.run()
        #expect(results.map(\.status) == [.fail, .skip])
        #expect(results[1].message == "skipped: handshake failed first")
    }
}

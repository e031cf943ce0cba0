import Foundation
import FerryCore
import Testing
import WireGuard
@testable import FerryAgent

@Suite("Doctor: NAT keepalive, clock skew, the report")
struct DoctorNATClockReportTests {
    let home: [IPAddress] = ["192.168.71.2", "127.0.0.1"].compactMap { IPAddress($0) }

    func nat(_ fx: DoctorFixture, hosts: [IPAddress]? = nil) async -> DoctorResult {
        await NATKeepaliveCheck(local: fx.local, coordinator: fx.coordinator, hostAddresses: hosts ?? home).run()
    }

    @Test func notBehindNAT() async {
        var fx = DoctorFixture()
        fx.gatewayPeer.persistentKeepaliveInterval = 0
        let r = await nat(fx)
        #expect(r.status == .pass, "\(r)")
        #expect(r.message.contains("not behind NAT"))
    }

    @Test func behindNATWithoutKeepalive() async {
        var fx = DoctorFixture()
        fx.gatewayPeer.persistentKeepaliveInterval = 0
        fx.coordinator.peer?.seenEndpoint = "203.0.113.9:61234"
        let r = await nat(fx)
        #expect(r.status == .warn)
        #expect(r.message.contains("203.0.113.9 is not an address of this machine"))
        #expect(r.fix == ["add PersistentKeepalive = 25 to the [Peer] of gw1: `wg set wgtest0 peer \(fx.gateway.base64) persistent-keepalive 25` "
                          + "(`ferry up` applies the coordinator's)"])
    }

    @Test func aPortTranslatingNATIsANATToo() async {
        var fx = DoctorFixture()
        fx.gatewayPeer.persistentKeepaliveInterval = 0
        fx.coordinator.peer?.seenEndpoint = "192.168.71.2:1024"
        let r = await nat(fx)
        #expect(r.status == .warn)
        #expect(r.message.contains("port 1024, not wgtest0's 40000"))
    }

    @Test func behindNATWithKeepalive() async {
        var fx = DoctorFixture()
        fx.coordinator.peer?.seenEndpoint = "203.0.113.9:61234"
        let r = await nat(fx)
        #expect(r.status == .pass)
        #expect(r.message.contains("persistent keepalive (25 s)"))
    }

    @Test func notSeenYet() async {
        var fx = DoctorFixture()
        fx.coordinator.peer?.seenEndpoint = nil
        #expect(await nat(fx).status == .skip)
        fx.coordinator.peer = nil
        #expect(await nat(fx).status == .skip)
    }

    // MARK: clock

    func sample(skew: Double, roundTrip: Double = 0.2) -> ClockSample {
        let sent = Date(timeIntervalSince1970: 1_700_000_000.3)
        let server = sent.addingTimeInterval(roundTrip / 2 + skew)
        // The header carries whole seconds, truncated.
        return ClockSample(serverDate: Date(timeIntervalSince1970: server.timeIntervalSince1970.rounded(.down)),
                           sent: sent, received: sent.addingTimeInterval(roundTrip))
    }

    @Test(arguments: [0.0, 3.0, -3.0])
    func inSync(skew: Double) async {
        #expect(await ClockSkewCheck(sample: sample(skew: skew)).run().status == .pass)
    }

    @Test func minutesOffFails() async {
        let r = await ClockSkewCheck(sample: sample(skew: 93)).run()
        #expect(r.status == .fail)
        #expect(r.message == "this machine's clock is 93 s behind the coordinator's")
        #expect(r.fix[0].hasPrefix("sync your clock (skew 93 s)"))
        let ahead = await ClockSkewCheck(sample: sample(skew: -120)).run()
        #expect(ahead.message == "this machine's clock is 120 s ahead of the coordinator's")
    }

    @Test func secondsOffWarns() async {
        let r = await ClockSkewCheck(sample: sample(skew: 12)).run()
        #expect(r.status == .warn)
        #expect(r.fix[0].hasPrefix("sync your clock (skew 12 s)"))
    }

    @Test func aSlowRoundTripIsNotSkew() async {
        // 10 s apparent skew measured over a 20 s round trip proves nothing.
        #expect(await ClockSkewCheck(sample: sample(skew: 10, roundTrip: 20)).run().status == .pass)
    }

    @Test func noClockToReadIsASkip() async {
        #expect(await ClockSkewCheck(sample: nil).run().status == .skip)
        #expect(await ClockSkewCheck(sample: ClockSample(serverDate: nil, sent: Date(), received: Date())).run().status == .skip)
    }

    @Test func httpDates() {
        #expect(ClockSample.parseHTTPDate("Sun, 06 Nov 1994 08:49:37 GMT") == Date(timeIntervalSince1970: 784_111_777))
        #expect(ClockSample.parseHTTPDate("Sunday, 06-Nov-94 08:49:37 GMT") == nil)
        #expect(ClockSample.parseHTTPDate("") == nil)
    }

    // MARK: the report

    func report() -> DoctorReport {
        DoctorReport(interface: "wgtest0", peer: "alice", results: [
            DoctorResult(check: "keys", status: .pass, message: "ok"),
            DoctorResult(check: "nat-keepalive", status: .warn, message: "behind NAT", fix: ["add PersistentKeepalive = 25"]),
            DoctorResult(check: "mtu", status: .skip, message: "skipped"),
        ])
    }

    @Test func warningsDoNotFailTheExit() {
        var r = report()
        #expect(r.exitCode == 0)
        r.results.append(DoctorResult(check: "clock", status: .fail, message: "93 s", fix: ["sync your clock (skew 93 s)"]))
        #expect(r.exitCode == 2)
        #expect(r.summary == "1 passed, 1 failed, 1 warning, 1 skipped")
    }

    @Test func humanOutputIndentsTheFix() {
        let text = report().renderHuman()
        #expect(text == """
            ferry doctor: wgtest0 (peer alice)
            PASS  keys           ok
            WARN  nat-keepalive  behind NAT
                  fix: add PersistentKeepalive = 25
            SKIP  mtu            skipped
            1 passed, 1 warning, 1 skipped

            """)
    }

    @Test func jsonRoundTrips() throws {
        let r = report()
        let back = try FerryJSON.decoder().decode(DoctorReport.self, from: Data(try r.renderJSON().utf8))
        #expect(back == r)
        #expect(try r.renderJSON().contains("\"status\" : \"warn\""))
    }
}

import FerryCore
import Foundation
import Testing
import WireGuard
@testable import FerryAgent

/// A mesh peer this machine may not open connections to (`outbound: false`): the agent's
/// own mesh table drops doctor's probes, so they must not be sent and blamed on a firewall.
@Suite("Doctor: inbound-only mesh peers")
struct DoctorInboundOnlyMeshTests {
    func inboundOnly() -> DoctorFixture {
        var fx = DoctorFixture()
        fx.coordinator.map.peers[0].role = "mesh"
        fx.coordinator.map.peers[0].outbound = false
        fx.coordinator.map.peers[0].inbound = true
        return fx
    }

    func run(_ fx: DoctorFixture, pinger: RulePinger) async -> DoctorResult {
        await HandshakeCheck(interface: "wgtest0", coordinator: fx.coordinator, reader: ScriptedReader([fx.local.device]),
                             pinger: pinger, udp: FixedUDP(outcome: .silent),
                             sleeper: NoSleep(), timeout: .seconds(5), nowSeconds: 1_700_000_040).run()
    }

    @Test func judgedByItsTrafficNotProbed() async {
        let pinger = RulePinger { _, _ in .noReply }
        let r = await run(inboundOnly(), pinger: pinger)
        #expect(r.status == .pass, "\(r)")
        #expect(r.message.contains("handshake 40 s ago") && r.message.contains("not probed"), "\(r.message)")
        #expect(pinger.sizes.isEmpty, "no probe into the agent's own mesh table")
    }

    @Test func noTrafficYetIsNotAFirewallFailure() async {
        var fx = inboundOnly()
        fx.gatewayPeer.lastHandshakeTimeSec = 0
        let r = await run(fx, pinger: RulePinger { _, _ in .noReply })
        #expect(r.status == .pass && !r.message.contains("firewall") && r.message.contains("has not yet"), "\(r)")
        // And the MTU probe does not pick it either.
        let inputs = DoctorInputs(local: fx.local, coordinator: fx.coordinator, hostAddresses: [], clock: nil)
        #expect(inputs.probeTarget == nil)
    }
}

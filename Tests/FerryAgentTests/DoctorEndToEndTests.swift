import Foundation
import FerryTestSupport
import Testing
@testable import FerryAgent

/// `ferry doctor`'s proof: against a real gateway (ferryd --gateway over wireguard-go or
/// ferry-wg) and a developer machine that `ferry join`ed and is `ferry up` (on ferry-wg),
/// break one thing at a time — AllowedIPs, the gateway's UDP port, the path's MTU — and see
/// `ferry doctor` name the right check with the right fix and exit 2; then apply that fix
/// (or undo the breakage) and see it pass.
@Suite("Doctor end to end (root, network namespaces)", .serialized)
struct DoctorEndToEndTests {
    func statuses(_ r: DoctorReport) -> [String: DoctorStatus] {
        Dictionary(uniqueKeysWithValues: r.results.map { ($0.check, $0.status) })
    }

    func result(_ r: DoctorReport, _ check: String) -> DoctorResult? { r.results.first { $0.check == check } }

    @Test(.enabled(if: DoctorLab.available), .timeLimit(.minutes(5)), arguments: ["wireguard-go", "ferry-wg"])
    func findsEachBreakageWithItsFix(gatewayWG: String) async throws {
        let lab = try DoctorLab(gatewayWG: gatewayWG)
        defer { lab.close() }
        try lab.setUp()
        let gatewayKey = try #require(lab.gatewayKey)

        // Healthy: everything passes.
        var (report, status) = try lab.doctor()
        #expect(report.results.map(\.check) == ["coordinator", "keys", "allowed-ips", "routes", "handshake", "mtu", "nat-keepalive", "dns", "clock"])
        #expect(report.results.allSatisfy { $0.status == .pass }, "\(report.renderHuman())")
        #expect(status == 0)

        // 1. A wrong AllowedIPs on the client: the internal subnet replaced by another.
        try lab.client.exec(["wg", "set", lab.clientIF, "peer", gatewayKey.base64, "allowed-ips", "10.10.0.1/32,172.31.99.0/24"])
        (report, status) = try lab.doctor()
        var r = try #require(result(report, "allowed-ips"))
        #expect(r.status == .fail)
        #expect(r.message.contains("missing \(lab.subnet)"))
        #expect(r.message.contains("not the coordinator's 172.31.99.0/24"))
        #expect(r.fix.first?.hasPrefix("set AllowedIPs = 10.10.0.1/32, ") == true)
        #expect(r.fix.first?.contains(lab.subnet) == true)
        #expect(status == 2)
        let (text, textStatus) = try lab.doctorText()
        #expect(textStatus == 2)
        #expect(text.contains("FAIL  allowed-ips"))
        #expect(text.contains("      fix: set AllowedIPs = 10.10.0.1/32, "))
        try lab.apply(try #require(r.fix.first))
        (report, status) = try lab.doctor()
        #expect(statuses(report)["allowed-ips"] == .pass, "\(report.renderHuman())")

        // 2. The gateway's UDP port blocked by its firewall.
        try lab.gw.exec(["nft", "-f", "-"], input: """
            table inet fdoctor_block {
              chain input { type filter hook input priority -10; udp dport 51820 drop; }
            }
            """)
        (report, status) = try lab.doctor()
        r = try #require(result(report, "handshake"))
        #expect(r.status == .fail, "\(report.renderHuman())")
        #expect(r.message.contains("gateway gw1 at 192.168.9.1:51820: no handshake and no reply within 5 s"))
        #expect(r.fix.contains { $0.hasPrefix("open UDP port 51820 on the gateway's firewall") })
        #expect(statuses(report)["mtu"] == .skip)
        #expect(status == 2)
        #expect(statuses(report)["allowed-ips"] == .pass)
        try lab.gw.exec(["nft", "delete", "table", "inet", "fdoctor_block"])
        (report, status) = try lab.doctor()
        #expect(statuses(report)["handshake"] == .pass, "\(report.renderHuman())")

        // 3. A path that carries less than the tunnel's MTU: the gateway's end of the link
        // takes 1400-byte packets, and the client's 1420-byte tunnel packets become larger
        // datagrams than that. Nothing reports it; they vanish.
        try lab.gw.exec(["ip", "link", "set", "dev", lab.gatewayVeth, "mtu", "1400"])
        (report, status) = try lab.doctor()
        r = try #require(result(report, "mtu"))
        #expect(r.status == .fail, "\(report.renderHuman())")
        #expect(status == 2)
        let suggested = try #require(r.details["suggestedMTU"].flatMap(Int.init))
        #expect(suggested < 1420 && suggested >= 1300)
        #expect(r.fix.first == "set MTU = \(suggested) on \(lab.clientIF): `ip link set dev \(lab.clientIF) mtu \(suggested)` (MTU = \(suggested) in its [Interface])")
        // Independently of the doctor: the suggested size crosses, one byte more does not.
        let ping = ["ping", "-M", "do", "-c", "1", "-W", "1", "-I", lab.clientIF, "10.10.0.1", "-s"]
        #expect((try? lab.client.exec(ping + [String(suggested - 28)])) != nil)
        #expect((try? lab.client.exec(ping + [String(suggested + 1 - 28)])) == nil)
        try lab.apply(try #require(r.fix.first))
        (report, status) = try lab.doctor()
        #expect(statuses(report)["mtu"] == .pass, "\(report.renderHuman())")
        #expect(status == 0)
    }
}

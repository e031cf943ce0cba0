import FerryCore
import FerrySystem
import Foundation
import Testing
import WireGuard

@Suite("Firewall rendering")
struct FirewallTests {
    static func plan() -> FirewallPlan {
        let p = { (s: String) in IPPrefix(s)! }
        return FirewallPlan(interface: "wg0", overlay: [p("10.10.0.0/16"), p("fd00:1::/48")], masquerade: true, rules: [
            FirewallRule(sources: [p("10.10.2.7/32")], destinations: [p("172.20.0.5/32")], action: .accept, comment: "peer job (restricted)"),
            FirewallRule(sources: [p("10.10.2.7/32")], destinations: nil, action: .drop, comment: "peer job (restricted)"),
            FirewallRule(sources: [p("10.10.1.0/24"), p("fd00:1::100/120")], destinations: [p("172.20.0.0/24"), p("fd00:1::200/120")],
                         action: .accept, comment: "rule r1: developers -> \"x\"; drop table"),
            FirewallRule(sources: [p("10.10.1.2/32")], destinations: nil, excluding: [p("10.10.0.0/16")], action: .accept, comment: "egress"),
        ])
    }

    @Test func nftablesText() {
        let text = NFTablesRenderer.render(Self.plan())
        #expect(text.contains("table inet ferry_wg0 {}\ndelete table inet ferry_wg0\ntable inet ferry_wg0 {"))
        #expect(text.contains("ip saddr 10.10.2.7 ip daddr 172.20.0.5 accept comment \"peer job (restricted)\""))
        #expect(text.contains("ip saddr 10.10.2.7 drop"))
        #expect(text.contains("ip6 saddr fd00:1::100/120 ip6 daddr fd00:1::200/120 accept"))
        #expect(text.contains("oifname != \"wg0\" ip saddr 10.10.1.2 ip daddr != 10.10.0.0/16 accept"))
        #expect(!text.contains("\"x\""), "comments cannot break out of their quotes")
        #expect(text.contains("masquerade"))
    }

    /// nft and iptables-restore accept what is rendered (checked without applying, in a
    /// namespace of the test's own). Needs root.
    @Test func toolsAcceptTheRules() throws {
        guard getuid() == 0 else { print("SKIPPED (needs root): nft -c / iptables-restore --test"); return }
        let ns = "ferry-fwt-\(UInt16.random(in: 0...UInt16.max))"
        defer { _ = run(["ip", "netns", "del", ns]) }
        guard run(["ip", "netns", "add", ns]).0 == 0 else { print("SKIPPED (ip netns add failed)"); return }
        let nft = run(["ip", "netns", "exec", ns, "nft", "-c", "-f", "-"], stdin: NFTablesRenderer.render(Self.plan()))
        #expect(nft.0 == 0, "\(nft.1)")
        let v4 = run(["ip", "netns", "exec", ns, "iptables-restore", "--test", "--noflush"], stdin: IPTablesRenderer.render(Self.plan(), family: .ipv4))
        #expect(v4.0 == 0, "\(v4.1)")
        let v6 = run(["ip", "netns", "exec", ns, "ip6tables-restore", "--test", "--noflush"], stdin: IPTablesRenderer.render(Self.plan(), family: .ipv6))
        #expect(v6.0 == 0, "\(v6.1)")
    }

    func run(_ argv: [String], stdin: String? = nil) -> (Int32, String) {
        let p = ChildProcess()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = argv
        let out = Pipe(), inp = Pipe()
        p.standardOutput = out
        p.standardError = out
        p.standardInput = inp
        guard (try? p.run()) != nil else { return (127, "cannot run \(argv[0])") }
        if let stdin { inp.fileHandleForWriting.write(Data(stdin.utf8)) }
        try? inp.fileHandleForWriting.close()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}

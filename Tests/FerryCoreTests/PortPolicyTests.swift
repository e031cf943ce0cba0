@testable import FerryCore
import Testing
import WireGuard

@Suite("Ports and the gateway host in policy")
struct PortPolicyTests {
    static func p(_ s: String) -> IPPrefix { IPPrefix(s)! }

    @Test func portTextsParseAndNormalize() throws {
        #expect(try PortSpec.parseList("tcp/443,8080-8090,udp/53,icmp").map(\.description) == ["icmp", "tcp/443", "tcp/8080-8090", "udp/53"])
        #expect(try PortSpec.parseList("tcp/22, tcp/22,tcp").map(\.description) == ["tcp"], "every TCP port covers tcp/22")
        #expect(try PortSpec(parsing: "TCP/1-65535").description == "tcp/1-65535")
        for bad in ["", "tcp/0", "tcp/65536", "tcp/22-21", "sctp/1", "icmp/8", "tcp/", "tcp/1-", "22", "tcp/22,,udp/1", "tcp/+1", "tcp/0x16"] {
            #expect(throws: PortSpec.ParseError.self, "\(bad)") { try PortSpec.parseList(bad) }
        }
    }

    @Test func accessIsTheUnionOfTheRulesPorts() {
        #expect(PortAccess.union([]) == nil)
        #expect(PortAccess.union([[PortSpec(proto: .tcp, ports: 22...22)], []]) == .all)
        #expect(PortAccess.union([[PortSpec(proto: .tcp, ports: 22...22)], [PortSpec(proto: .udp, ports: 53...53)]])
                == .only([PortSpec(proto: .tcp, ports: 22...22), PortSpec(proto: .udp, ports: 53...53)]))
    }

    /// developers -> 172.20.0.0/24 tcp/8080; developers -> gateway gw1 tcp/22; ci -> 172.20.0.5
    /// (all ports), the CI job restricted to it and expiring; the gateway host opens tcp/8443.
    static func compiler(now: Millis = 0) -> PolicyCompiler {
        var t = PolicyCompilerTests.topology()
        t.segments.append(Segment(id: "sc2", name: "jobs", ipv4: p("10.10.4.0/24")))
        t.rules = [PolicyRule(id: "r1", from: "sd", to: .subnet(p("172.20.0.0/24")), ports: [PortSpec(proto: .tcp, ports: 8080...8080)]),
                   PolicyRule(id: "r2", from: "sd", to: .gateway("gw1"), ports: [PortSpec(proto: .tcp, ports: 22...22)]),
                   PolicyRule(id: "r3", from: "sc2", to: .subnet(p("172.20.0.0/24")))]
        t.peers.append(Peer(id: "job", name: "job", kind: .ci, owner: "ci", segmentID: "sc2", ipv4: IPv4Address(10, 10, 4, 7),
                            publicKey: PolicyCompilerTests.key(), restrictTo: [p("172.20.0.5/32")], expiresAt: 20_500))
        return PolicyCompiler(t)
    }

    @Test func firewallCarriesPortsHostRulesAndExpiries() {
        let plan = Self.compiler().firewall(ofGateway: "gw1", interface: "wg0", at: 0, services: [PortSpec(proto: .tcp, ports: 8443...8443)])
        let text = NFTablesRenderer.render(plan)
        #expect(text.contains("ip saddr 10.10.1.0/24 ip daddr 172.20.0.0/24 tcp dport 8080 accept"))
        #expect(!text.contains("ip saddr 10.10.1.0/24 ip daddr 172.20.0.0/24 accept"), "a rule with ports must not open everything")
        #expect(text.contains("ip saddr 10.10.1.0/24 tcp dport 22 accept comment \"rule r2: developers -> gateway gw1\""))
        #expect(text.contains("tcp dport 8443 accept comment \"service for every peer\""))
        #expect(text.contains("counter drop comment \"default deny to the gateway host\""))
        // the restricted job: its one host, then nothing; no gateway-host rule it was not given
        #expect(text.contains("ip saddr 10.10.4.7 ip daddr 172.20.0.5 accept"))
        // expiry rounded up to the next second, first in each chain, both directions
        #expect(text.contains("ip saddr 10.10.4.7 meta time >= 21 counter drop"))
        #expect(text.contains("ip daddr 10.10.4.7 meta time >= 21 counter drop"))
        let fromPeers = text.components(separatedBy: "chain from_peers {")[1]
        #expect(fromPeers.range(of: "meta time")!.lowerBound < fromPeers.range(of: "ct state established")!.lowerBound,
                "an expired peer's established flows end too")
        let ipt = IPTablesRenderer.render(plan, family: .ipv4)
        #expect(ipt.contains("-p tcp --dport 8080"))
        #expect(ipt.contains("-A FERRY-HOST-wg0 -s 10.10.1.0/24 -p tcp --dport 22"))
        #expect(ipt.contains("-m time --datestart 1970-01-01T00:00:21"))
        #expect(ipt.contains("-I INPUT 1 -i wg0 -j FERRY-HOST-wg0"))
    }

    @Test func gatewayRuleOnAnotherGatewayOpensNothingHere() {
        let plan = Self.compiler().firewall(ofGateway: "gw2", interface: "wg0", at: 0)
        #expect(!NFTablesRenderer.render(plan).contains("tcp dport 22"))
    }

    @Test func expiredPeersLeaveTheRules() {
        let text = NFTablesRenderer.render(Self.compiler().firewall(ofGateway: "gw1", interface: "wg0", at: 21_000))
        #expect(!text.contains("10.10.4.7"))
    }

    @Test func meshDirectionsCarryPorts() {
        var t = PolicyCompilerTests.topology()
        let ep = HostPort("198.51.100.1:51820")!
        t.peers = t.peers.map { var p = $0; if p.id == "dev" { p.mesh = true; p.reportedEndpoint = ep }; return p }
        t.peers.append(Peer(id: "dev2", name: "dev2", kind: .device, owner: "bob", segmentID: "sd", ipv4: IPv4Address(10, 10, 1, 2),
                            publicKey: PolicyCompilerTests.key(), mesh: true, reportedEndpoint: ep))
        t.rules.append(PolicyRule(id: "r9", from: "sd", to: .segment("sd"), ports: [PortSpec(proto: .tcp, ports: 22...22)]))
        let c = PolicyCompiler(t)
        let dev = c.topology.peers.first { $0.id == "dev" }!
        let entry = c.entries(for: dev, at: 0).first { $0.peerID == "dev2" }
        #expect(entry?.outbound == true && entry?.inbound == true)
        #expect(entry?.outboundPorts == [PortSpec(proto: .tcp, ports: 22...22)])
        let map = c.networkMap(for: dev, at: 0)
        #expect(map.peers.first { $0.id == "dev2" }?.inboundPorts == ["tcp/22"])
    }
}

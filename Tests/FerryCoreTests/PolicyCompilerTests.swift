@testable import FerryCore
import Testing
import WireGuard

@Suite("Policy compiler")
struct PolicyCompilerTests {
    static func p(_ s: String) -> IPPrefix { IPPrefix(s)! }
    static func key() -> PublicKey { PrivateKey.generate().publicKey }

    /// gateways 10.10.0.0/24, developers 10.10.1.0/24, ci 10.10.2.0/24, others 10.10.3.0/24;
    /// gw1 (hub) routes 172.20.0.0/24, gw2 routes 172.21.0.0/24 and masquerades;
    /// developers -> 172.20.0.0/24, developers -> ci, ci -> 172.21.0.0/24.
    static func topology(_ extra: [Peer] = []) -> Topology {
        let segs = [Segment(id: "sg", name: "gateways", ipv4: p("10.10.0.0/24")), Segment(id: "sd", name: "developers", ipv4: p("10.10.1.0/24")),
                    Segment(id: "sc", name: "ci", ipv4: p("10.10.2.0/24")), Segment(id: "so", name: "others", ipv4: p("10.10.3.0/24"))]
        let gw1 = Peer(id: "gw1", name: "gw1", kind: .gateway, owner: "ops", segmentID: "sg", ipv4: IPv4Address(10, 10, 0, 1), publicKey: key(), createdAt: 1)
        let gw2 = Peer(id: "gw2", name: "gw2", kind: .gateway, owner: "ops", segmentID: "sg", ipv4: IPv4Address(10, 10, 0, 2), publicKey: key(), createdAt: 2)
        let dev = Peer(id: "dev", name: "dev", kind: .device, owner: "alice", segmentID: "sd", ipv4: IPv4Address(10, 10, 1, 1), publicKey: key())
        let other = Peer(id: "oth", name: "oth", kind: .device, owner: "bob", segmentID: "so", ipv4: IPv4Address(10, 10, 3, 1), publicKey: key())
        return Topology(
            network: NetworkSettings(name: "t", ipv4: p("10.10.0.0/16"), ipv6: p("fd00:1::/48")),
            segments: segs, peers: [gw1, gw2, dev, other] + extra,
            gateways: [Gateway(peerID: "gw1", endpoint: HostPort("gw1.example.com:51820")!, listenPort: 51820, subnets: [p("172.20.0.0/24")], masquerade: false),
                       Gateway(peerID: "gw2", endpoint: HostPort("gw2.example.com:51820")!, listenPort: 51820, subnets: [p("172.21.0.0/24")], masquerade: true)],
            rules: [PolicyRule(id: "r1", from: "sd", to: .subnet(p("172.20.0.0/24"))), PolicyRule(id: "r2", from: "sd", to: .segment("sc")),
                    PolicyRule(id: "r3", from: "sc", to: .subnet(p("172.21.0.0/24")))])
    }

    func allowed(_ c: PolicyCompiler, _ peer: String, via gw: String) -> [String] {
        let peer = c.topology.peers.first { $0.id == peer }!
        return c.entries(for: peer, at: 0).first { $0.peerID == gw }?.allowedIPs.map(\.description) ?? []
    }

    @Test func allowedIPsFollowPolicy() {
        let c = PolicyCompiler(Self.topology())
        #expect(allowed(c, "dev", via: "gw1") == ["10.10.0.1/32", "10.10.2.0/24", "172.20.0.0/24", "fd00:1::1/128", "fd00:1::200/120"])
        #expect(allowed(c, "dev", via: "gw2") == ["10.10.0.2/32", "fd00:1::2/128"])
        #expect(allowed(c, "oth", via: "gw1") == ["10.10.0.1/32", "fd00:1::1/128"], "no rule: only the gateway itself")
    }

    /// The reverse direction is routed (for replies) but only the firewall's direction is open.
    @Test func repliesRouteBackButFirewallKeepsDirection() {
        let ci = Peer(id: "ci1", name: "ci1", kind: .ci, owner: "ci", segmentID: "sc", ipv4: IPv4Address(10, 10, 2, 1), publicKey: Self.key())
        let c = PolicyCompiler(Self.topology([ci]))
        #expect(allowed(c, "ci1", via: "gw1").contains("10.10.1.0/24"))
        let fw = c.firewall(ofGateway: "gw1", interface: "wg0", at: 0)
        let nft = NFTablesRenderer.render(fw)
        #expect(nft.contains("ip saddr 10.10.1.0/24 ip daddr 10.10.2.0/24 accept"))
        #expect(!nft.contains("ip saddr 10.10.2.0/24 ip daddr 10.10.1.0/24"))
        #expect(nft.contains("ip saddr 10.10.1.0/24 ip daddr 172.20.0.0/24 accept"))
        #expect(!nft.contains("172.21.0.0/24"), "gw1 does not route gw2's subnet")
        #expect(nft.contains("counter drop comment \"default deny\""))
        #expect(!nft.contains("masquerade"))
    }

    @Test func restrictedEphemeralPeerGetsOnlyWhatItNeeds() {
        let job = Peer(id: "job", name: "job", kind: .ci, owner: "ci", segmentID: "sd", ipv4: IPv4Address(10, 10, 1, 9), publicKey: Self.key(),
                       restrictTo: [Self.p("172.20.0.5/32")], expiresAt: 100)
        let c = PolicyCompiler(Self.topology([job]))
        #expect(allowed(c, "job", via: "gw1") == ["10.10.0.1/32", "172.20.0.5/32", "fd00:1::1/128"])
        let nft = NFTablesRenderer.render(c.firewall(ofGateway: "gw1", interface: "wg0", at: 0))
        let accept = nft.range(of: "ip saddr 10.10.1.9 ip daddr 172.20.0.5 accept")
        let drop = nft.range(of: "ip saddr 10.10.1.9 drop")
        let segmentRule = nft.range(of: "ip saddr 10.10.1.0/24 ip daddr 172.20.0.0/24 accept")
        #expect(accept != nil && drop != nil && segmentRule != nil)
        if let accept, let drop, let segmentRule { #expect(accept.lowerBound < drop.lowerBound && drop.lowerBound < segmentRule.lowerBound) }
        // Expired: gone from the interface and the firewall.
        #expect(!c.interfacePeers(ofGateway: "gw1", at: 100).contains { $0.peerID == "job" })
        #expect(!NFTablesRenderer.render(c.firewall(ofGateway: "gw1", interface: "wg0", at: 100)).contains("10.10.1.9"))
    }

    @Test func fullTunnelEgressAndMasquerade() {
        let full = Peer(id: "full", name: "full", kind: .device, owner: "a", segmentID: "sd", ipv4: IPv4Address(10, 10, 1, 2), publicKey: Self.key(), tunnel: .full)
        let c = PolicyCompiler(Self.topology([full]))
        #expect(allowed(c, "full", via: "gw2").contains("0.0.0.0/0") && allowed(c, "full", via: "gw2").contains("::/0"))
        #expect(!allowed(c, "full", via: "gw1").contains("0.0.0.0/0"))
        let nft = NFTablesRenderer.render(c.firewall(ofGateway: "gw2", interface: "wg1", at: 0))
        #expect(nft.contains("oifname != \"wg1\" ip saddr 10.10.1.2 ip daddr != { 10.10.0.0/16, 172.20.0.0/24, 172.21.0.0/24 } accept"))
        #expect(nft.contains("oifname != \"wg1\" ip saddr 10.10.0.0/16 masquerade"))
        #expect(nft.contains("oifname != \"wg1\" ip6 saddr fd00:1::/112 masquerade"))
        let ipt = IPTablesRenderer.render(c.firewall(ofGateway: "gw2", interface: "wg1", at: 0), family: .ipv4)
        #expect(ipt.contains("-A FERRY-FWD-wg1 ! -o wg1 -s 10.10.1.2/32"))
        #expect(ipt.contains("-j MASQUERADE"))
    }

    @Test func disabledPeersDisappear() {
        var t = Self.topology()
        t.peers[2].enabled = false
        let c = PolicyCompiler(t)
        #expect(c.interfacePeers(ofGateway: "gw1", at: 0).map(\.peerID) == ["oth"])
        #expect(c.networkMap(for: t.peers[2], at: 0).peers.isEmpty)
    }

    @Test func meshEntriesWhereAllowedAndAnEndpointIsKnown() {
        var a = Peer(id: "ma", name: "ma", kind: .server, owner: "x", segmentID: "sd", ipv4: IPv4Address(10, 10, 1, 10), publicKey: Self.key(), mesh: true)
        a.seenEndpoint = HostPort("198.51.100.1:40000")
        let b = Peer(id: "mb", name: "mb", kind: .server, owner: "x", segmentID: "sc", ipv4: IPv4Address(10, 10, 2, 10), publicKey: Self.key(), mesh: true)
        let cc = Peer(id: "mc", name: "mc", kind: .server, owner: "x", segmentID: "so", ipv4: IPv4Address(10, 10, 3, 10), publicKey: Self.key(), mesh: true)
        let c = PolicyCompiler(Self.topology([a, b, cc]))
        let fromA = c.entries(for: a, at: 0).filter { $0.role == .mesh }
        #expect(fromA.map(\.peerID) == ["mb"])
        #expect(fromA.first?.outbound == true && fromA.first?.inbound == false)
        let fromB = c.entries(for: b, at: 0).filter { $0.role == .mesh }
        #expect(fromB.first?.endpoint?.description == "198.51.100.1:40000" && fromB.first?.inbound == true)
        #expect(fromB.first?.allowedIPs.map(\.description) == ["10.10.1.10/32", "fd00:1::10a/128"])
        #expect(c.entries(for: cc, at: 0).filter { $0.role == .mesh }.isEmpty, "no rule, no mesh entry")
    }

    @Test func networkMapVersionFollowsContent() {
        let t = Self.topology()
        let c = PolicyCompiler(t)
        let m1 = c.networkMap(for: t.peers[2], at: 0)
        #expect(c.networkMap(for: t.peers[2], at: 0).version == m1.version)
        #expect(m1.version > 0 && m1.version < 1 << 53)
        var t2 = t
        t2.rules.removeLast()   // ci -> 172.21: not in dev's map
        #expect(PolicyCompiler(t2).networkMap(for: t.peers[2], at: 0).version == m1.version)
        t2.rules.removeFirst()  // developers -> 172.20: in it
        #expect(PolicyCompiler(t2).networkMap(for: t.peers[2], at: 0).version != m1.version)
        let gwMap = c.networkMap(for: t.peers[0], interface: "wg0", at: 0)
        #expect(gwMap.gateway?.nftables.contains("table inet ferry_wg0") == true)
        #expect(gwMap.interface.addresses == ["10.10.0.1/16", "fd00:1::1/48"])
    }
}

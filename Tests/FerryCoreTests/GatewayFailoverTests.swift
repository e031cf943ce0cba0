@testable import FerryCore
import Testing
import WireGuard

/// Which gateway carries a subnet that several serve (GatewayFailover.swift).
@Suite("Gateway failover in the policy compiler")
struct GatewayFailoverTests {
    static func p(_ s: String) -> IPPrefix { IPPrefix(s)! }
    static let subnet = p("172.20.0.0/24")
    /// Fixed per run, so two compilers of the same topology give the same map.
    static let keys = (0...3).map { _ in PrivateKey.generate().publicKey }

    /// g1 (oldest) and g2 both serve 172.20.0.0/24; g3 serves 172.22.0.0/24 alone; dev may
    /// reach both subnets.
    static func compiler(g1: (priority: Int, up: Bool) = (100, true), g2: (priority: Int, up: Bool) = (100, true)) -> PolicyCompiler {
        let segs = [Segment(id: "sg", name: "gateways", ipv4: p("10.10.0.0/24")), Segment(id: "sd", name: "developers", ipv4: p("10.10.1.0/24"))]
        func gw(_ n: UInt8) -> Peer {
            Peer(id: "g\(n)", name: "g\(n)", kind: .gateway, owner: "ops", segmentID: "sg", ipv4: IPv4Address(10, 10, 0, n),
                 publicKey: keys[Int(n)], createdAt: Int64(n))
        }
        let dev = Peer(id: "dev", name: "dev", kind: .device, owner: "a", segmentID: "sd", ipv4: IPv4Address(10, 10, 1, 1),
                       publicKey: keys[0])
        func g(_ id: String, _ subnets: [IPPrefix], _ s: (priority: Int, up: Bool)) -> Gateway {
            Gateway(peerID: id, endpoint: HostPort("\(id).example.com:51820")!, listenPort: 51820, subnets: subnets, masquerade: true,
                    priority: s.priority, up: s.up)
        }
        return PolicyCompiler(Topology(
            network: NetworkSettings(name: "t", ipv4: p("10.10.0.0/16"), ipv6: nil),
            segments: segs, peers: [gw(1), gw(2), gw(3), dev],
            gateways: [g("g1", [subnet], g1), g("g2", [subnet], g2), g("g3", [p("172.22.0.0/24")], (100, true))],
            rules: [PolicyRule(id: "r1", from: "sd", to: .subnet(subnet)), PolicyRule(id: "r2", from: "sd", to: .subnet(p("172.22.0.0/24")))]))
    }

    func carrier(_ c: PolicyCompiler) -> [String] {
        let dev = c.topology.peers.first { $0.id == "dev" }!
        return c.entries(for: dev, at: 0).filter { $0.allowedIPs.contains(Self.subnet) }.map(\.peerID)
    }

    @Test func exactlyOneGatewayCarriesASharedSubnet() {
        #expect(carrier(Self.compiler()) == ["g1"], "equal priority: the oldest")
        #expect(carrier(Self.compiler(g1: (20, true), g2: (10, true))) == ["g2"], "the lower priority")
        #expect(carrier(Self.compiler(g1: (10, false), g2: (20, true))) == ["g2"], "the preferred one is down")
        #expect(carrier(Self.compiler(g1: (10, false), g2: (20, false))) == ["g1"], "all down: still routed, by priority")
    }

    @Test func theStandbyIsListedWithItsSubnetAndOtherSubnetsAreUntouched() {
        let c = Self.compiler(g1: (10, false), g2: (20, true))
        let dev = c.topology.peers.first { $0.id == "dev" }!
        let entries = Dictionary(uniqueKeysWithValues: c.entries(for: dev, at: 0).map { ($0.peerID, $0) })
        #expect(entries["g1"]?.standbyFor == [Self.subnet])
        #expect(entries["g1"]?.allowedIPs.contains(Self.subnet) == false)
        #expect(entries["g2"]?.standbyFor == nil)
        #expect(entries["g3"]?.allowedIPs.contains(Self.p("172.22.0.0/24")) == true, "a subnet one gateway serves alone")
        #expect(c.hub?.peer.id == "g2", "the hub is the oldest gateway that is up")
        // The map says the same, and a static config names the standby.
        let map = c.networkMap(for: dev, at: 0)
        #expect(map.peers.first { $0.id == "g1" }?.standbyFor == ["172.20.0.0/24"])
        let conf = c.peerConfig(for: dev, at: 0).render()
        #expect(conf.contains("standby for 172.20.0.0/24"))
        // Both gateways keep the subnet in their firewall, so the standby forwards at once.
        for g in ["g1", "g2"] {
            #expect(NFTablesRenderer.render(c.firewall(ofGateway: g, interface: "wg0", at: 0)).contains("ip daddr 172.20.0.0/24"))
        }
    }

    @Test func aVerdictChangesTheMapVersion() {
        let dev = Self.compiler().topology.peers.first { $0.id == "dev" }!
        let a = Self.compiler(g1: (10, true), g2: (20, true)).networkMap(for: dev, at: 0)
        let same = Self.compiler(g1: (10, true), g2: (20, true)).networkMap(for: dev, at: 0)
        let b = Self.compiler(g1: (10, false), g2: (20, true)).networkMap(for: dev, at: 0)
        #expect(a.version == same.version)
        #expect(a.version != b.version)
    }
}

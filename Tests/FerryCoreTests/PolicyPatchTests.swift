@testable import FerryCore
import FerryTestSupport
import Testing
import WireGuard

/// `PolicyCompiler.patched` against compiling the changed topology from scratch, in
/// memory: seeded random peer changes (added, removed, changed, gateways among them),
/// checked by every peer's map and the peer list's order.
@Suite("Policy compiler patches")
struct PolicyPatchTests {
    typealias Base = PolicyCompilerTests

    static func randomPeer(_ n: Int, _ rng: inout SeededGenerator) -> Peer {
        let segment = ["sd", "sc", "so"][Int.random(in: 0..<3, using: &rng)]
        let third: UInt8 = segment == "sd" ? 1 : segment == "sc" ? 2 : 3
        var p = Peer(id: "p\(n)", name: "peer\(n)", kind: Bool.random(using: &rng) ? .device : .ci, owner: "o", segmentID: segment,
                     ipv4: IPv4Address(10, 10, third, UInt8(10 + n % 200)), publicKey: Base.key(),
                     tunnel: Int.random(in: 0..<4, using: &rng) == 0 ? .full : .split, mesh: Bool.random(using: &rng),
                     enabled: Int.random(in: 0..<5, using: &rng) != 0, createdAt: Int64(Int.random(in: 0...50, using: &rng)))
        if Int.random(in: 0..<4, using: &rng) == 0 { p.restrictTo = [Base.p("172.20.0.0/25")] }
        if Int.random(in: 0..<4, using: &rng) == 0 { p.expiresAt = Int64(Int.random(in: 0...200, using: &rng)) }
        if p.mesh { p.seenEndpoint = HostPort("198.51.100.\(n % 250 + 1):4\(n % 1000)") }
        return p
    }

    func expectSame(_ patched: PolicyCompiler, _ topology: Topology, _ context: String) {
        var sorted = topology
        sorted.peers.sort(by: PolicyCompiler.peerOrder)
        let fresh = PolicyCompiler(sorted)
        #expect(patched.topology.peers == fresh.topology.peers, "\(context): peers")
        #expect(patched.gateways.map(\.peer.id) == fresh.gateways.map(\.peer.id), "\(context): gateways")
        for peer in fresh.topology.peers {
            #expect(patched.networkMap(for: peer, at: 100) == fresh.networkMap(for: peer, at: 100), "\(context): \(peer.name)")
        }
    }

    @Test(arguments: [UInt64(1), 2, 3]) func patchesEqualAFreshCompile(seed: UInt64) {
        var rng = SeededGenerator(seed: seed)
        // A hand-built topology, not in the canonical order: the first patch sorts it.
        var topology = Base.topology((0..<12).map { Self.randomPeer($0, &rng) }.reversed())
        var compiler = PolicyCompiler(topology)
        for step in 0..<40 {
            var ids = Set<String>(), current: [PolicyCompiler.PeerChange] = []
            for _ in 0..<Int.random(in: 1...3, using: &rng) {
                let others = topology.peers.filter { $0.kind != .gateway }
                switch Int.random(in: 0..<4, using: &rng) {
                case 0, _ where others.isEmpty:
                    let p = Self.randomPeer(100 + step * 3 + ids.count, &rng)
                    topology.peers.append(p)
                    ids.insert(p.id)
                    current.append(.init(peer: p, gateway: nil))
                case 1:
                    let p = others[Int.random(in: 0..<others.count, using: &rng)]
                    topology.peers.removeAll { $0.id == p.id }
                    ids.insert(p.id)
                    current.removeAll { $0.peer.id == p.id }
                case 2:
                    var p = others[Int.random(in: 0..<others.count, using: &rng)]
                    p.enabled.toggle()
                    p.mesh = Bool.random(using: &rng)
                    p.name += "x"
                    topology.peers = topology.peers.map { $0.id == p.id ? p : $0 }
                    ids.insert(p.id)
                    current.removeAll { $0.peer.id == p.id }
                    current.append(.init(peer: p, gateway: nil))
                default:
                    // A gateway's verdict or subnets change (its gateway row).
                    let gi = Int.random(in: 0..<topology.gateways.count, using: &rng)
                    var g = topology.gateways[gi]
                    g.up.toggle()
                    g.subnets = Bool.random(using: &rng) ? [Base.p("172.20.0.0/24")] : [Base.p("172.21.0.0/24")]
                    topology.gateways[gi] = g
                    guard let p = topology.peers.first(where: { $0.id == g.peerID }) else { continue }
                    ids.insert(p.id)
                    current.removeAll { $0.peer.id == p.id }
                    current.append(.init(peer: p, gateway: g))
                }
            }
            compiler = compiler.patched(ids: ids, current: current)
            expectSame(compiler, topology, "seed \(seed) step \(step)")
        }
    }
}

import FerryCore
import FerryServer
import Foundation
import GRDB
import WireGuard

/// `ferryd-bench netmap [PEERS [ROUNDS]]`: one peer's network map right after a change, at
/// 10,000 peers, the call a woken long poll makes (`networkMap(peerID:caller:)`), with the
/// topology patched from the change log (TopologyCache) and, in the same run, loaded in
/// full (the cache invalidated before the map: the baseline, what every change cost before).
/// A SQLite store in a temporary folder: three segments with rules between them and to an
/// internal subnet, one gateway serving two subnets, a tenth of the peers in the mesh.
/// The changes cycle through renaming a peer, changing its allowed IPs, disabling and
/// enabling it, and creating and deleting one, all through the store's API (audited).
func netmapBenchmark(peerCount: Int, rounds: Int) async throws {
    let (services, dir) = try await benchServices()
    defer { try? FileManager.default.removeItem(at: dir) }
    let store = services.store
    let admin = Caller.system("bench")
    guard let database = services.database else { print("the benchmark fills a SQLite store"); return }

    let gateway = try await store.createGateway(CreateGatewayRequest(name: "gw", endpoint: "gw.example.com:51820",
                                                                     subnets: ["172.20.0.0/16", "172.21.0.0/16"],
                                                                     publicKey: PrivateKey.generate().publicKey.base64), caller: admin)
    var segments: [SegmentView] = []
    for i in 1...3 { segments.append(try await store.createSegment(CreateSegmentRequest(name: "seg\(i)", ipv4: "10.\(i).0.0/16"), caller: admin)) }
    for s in segments { _ = try await store.createRule(CreatePolicyRuleRequest(from: s.name, toSubnet: "172.20.0.0/16"), caller: admin) }
    _ = try await store.createRule(CreatePolicyRuleRequest(from: "seg1", toSegment: "seg2"), caller: admin)
    _ = try await store.createRule(CreatePolicyRuleRequest(from: "seg2", toSegment: "seg1", ports: ["tcp/22"]), caller: admin)
    _ = try await store.createRule(CreatePolicyRuleRequest(from: "seg3", toSubnet: "172.21.0.0/16"), caller: admin)
    // Peers the benchmark creates go to a segment of their own (the bulk insert below
    // bypasses the allocator of the three others).
    _ = try await store.createSegment(CreateSegmentRequest(name: "seg4", ipv4: "10.4.0.0/16"), caller: admin)
    _ = try await store.createRule(CreatePolicyRuleRequest(from: "seg4", toSegment: "seg1"), caller: admin)

    // The peers straight into the table, in one transaction (creating 10,000 through the
    // API, each its own synchronous commit, takes minutes and is not what is measured).
    let segmentIDs = segments.map(\.id)
    try await database.write { db in
        let insert = try db.makeStatement(sql: """
            INSERT INTO peers (id, name, kind, owner, segment_id, ipv4, public_key, tunnel, mesh, enabled, seen_endpoint,
                               created_at, updated_at, created_by)
            VALUES (?, ?, 'device', ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, 'system:bench')
            """)
        for i in 0..<peerCount {
            let seg = i % 3
            let mesh = i % 10 == 0
            try insert.execute(arguments: [
                "p_\(i)", "peer\(i)", "u\(i % 50)", segmentIDs[seg], Int64(0x0A01_0000 + seg * 0x1_0000 + 2 + i / 3),
                PrivateKey.generate().publicKey.base64, i % 5 == 0 ? "full" : "split", mesh ? 1 : 0,
                mesh ? "198.51.100.\(i % 250 + 1):\(40000 + i % 1000)" : nil, Int64(1_000 + i), Int64(1_000 + i),
            ])
        }
    }
    store.invalidateTopology()
    let plain = "p_1", mesh = "p_0", changed = "p_4"
    let first = try await store.networkMap(peerID: plain, caller: admin)
    let meshMap = try await store.networkMap(peerID: mesh, caller: admin)
    let gatewayMap = try await store.networkMap(peerID: gateway.id, caller: admin)
    print("store: \(peerCount) peers in 3 segments, 1 gateway (2 subnets), 7 rules; a tenth in the mesh")
    print("maps: ordinary peer \(first.peers.count) entries, mesh peer \(meshMap.peers.count), gateway \(gatewayMap.peers.count)")

    // One change of the cycle; `k` picks which.
    var created: String?
    func change(_ k: Int) async throws {
        switch k % 4 {
        case 0: _ = try await store.updatePeer(id: changed, UpdatePeerRequest(name: "renamed\(k)"), caller: admin)
        case 1: _ = try await store.updatePeer(id: changed, UpdatePeerRequest(allowedIPs: k % 8 == 1 ? ["172.20.1.0/24"] : []),
                                               caller: admin)
        case 2:
            _ = try await store.updatePeer(id: changed, UpdatePeerRequest(enabled: false), caller: admin)
            _ = try await store.updatePeer(id: changed, UpdatePeerRequest(enabled: true), caller: admin)
        default:
            if let id = created {
                try await store.deletePeer(id: id, caller: admin)
                created = nil
            } else {
                created = try await store.createPeer(CreatePeerRequest(name: "new\(k)", segment: "seg4", publicKey: PrivateKey.generate().publicKey.base64,
                                                                       mesh: true), caller: admin).peer.id
            }
        }
    }
    func timed(_ id: String) async throws -> Double {
        let start = ContinuousClock.now
        let map = try await store.networkMap(peerID: id, caller: admin)
        let d = ContinuousClock.now - start
        if map.peerID != id { print("wrong map") }
        return Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15
    }

    var results: [(String, [Double])] = []
    for (label, id) in [("ordinary peer", plain), ("mesh peer", mesh), ("gateway (lists every peer)", gateway.id)] {
        var incremental: [Double] = [], full: [Double] = []
        let fullBefore = store.topologyFullLoads
        for k in 0..<rounds {
            try await change(k)
            incremental.append(try await timed(id))
            try await change(k + 4)
            store.invalidateTopology()
            full.append(try await timed(id))
        }
        let fullLoads = store.topologyFullLoads - fullBefore
        if fullLoads != rounds { print("  (expected \(rounds) full loads, saw \(fullLoads): some patches fell back)") }
        results.append(("\(label): map after a change, patched", incremental))
        results.append(("\(label): map after a change, full load", full))
    }
    for (name, samples) in results {
        print(String(format: "%@ p50 %8.2f ms   p99 %8.2f ms   (n=%d)", name.padding(toLength: 58, withPad: " ", startingAt: 0) as NSString,
                     percentile(samples, 0.5), percentile(samples, 0.99), samples.count))
    }
    for i in stride(from: 0, to: results.count, by: 2) {
        let patched = percentile(results[i].1, 0.5), full = percentile(results[i + 1].1, 0.5)
        print(String(format: "%@ full load / patched (p50): %.1fx", results[i].0.split(separator: ":")[0].padding(toLength: 28, withPad: " ", startingAt: 0) as NSString,
                     full / patched))
    }
}

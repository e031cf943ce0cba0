import FerryCore
@testable import FerryServer
import FerryTestSupport
import Foundation
import Testing
import WireGuard

/// The incremental topology (TopologyCache, TopologyChanges.swift, PolicyCompiler+Patch)
/// against a full load: seeded random sequences of changes through the store's API, and
/// after each one the cached compiler must hold exactly the peers and gateways a full load
/// reads, and give every peer the same map. On PostgreSQL also across two replicas: the
/// changes made on one are patched into the other's cache from the change log.
@Suite("Topology patches equal full loads")
struct TopologyPatchTests {
    typealias Random = SeededGenerator

    static let caller = Caller.system("test")

    /// What a full load compiles now, compared with what the store's cache gives.
    static func expectSameAsFullLoad(_ store: FerryStore, now: Millis, _ context: String) async throws {
        let cached = try await store.compiler()
        let full = PolicyCompiler(try await store.read { try FerryStore.topology($0) })
        #expect(cached.topology.peers == full.topology.peers, "\(context): peers")
        #expect(cached.topology.gateways == full.topology.gateways, "\(context): gateways")
        #expect(cached.gateways.map(\.peer.id) == full.gateways.map(\.peer.id), "\(context): gateway order")
        for peer in full.topology.peers {
            #expect(cached.networkMap(for: peer, at: now) == full.networkMap(for: peer, at: now), "\(context): map of \(peer.name)")
            if peer.kind != .gateway {
                let served = try await store.networkMap(peerID: peer.id, caller: caller)
                #expect(served == full.networkMap(for: peer, at: now), "\(context): served map of \(peer.name)")
            }
        }
    }

    /// One random change through the store's API; its description. `rules` holds the
    /// ids of the rules made here (removing one is a change that loads everything).
    static func randomChange(_ store: FerryStore, _ clock: ManualClock, _ rng: inout Random, step: Int, rules: inout [String]) async throws -> String {
        let peers = try await store.compiler().topology.peers.filter { $0.kind != .gateway }
        let segments = ["developers", "ci", "others"]
        let pick = peers.isEmpty ? 0 : Int.random(in: 0..<100, using: &rng)
        let target = peers.isEmpty ? nil : peers[Int.random(in: 0..<peers.count, using: &rng)]
        switch (pick, target) {
        case (0..<25, _), (_, nil):
            let ttl: Int? = Bool.random(using: &rng) && Bool.random(using: &rng) ? Int.random(in: 1...30, using: &rng) : nil
            let p = try await store.createPeer(CreatePeerRequest(
                name: "p\(step)", segment: segments[Int.random(in: 0..<3, using: &rng)], publicKey: newPublicKey(),
                tunnel: Bool.random(using: &rng) ? "full" : "split", mesh: Bool.random(using: &rng), ttlSeconds: ttl), caller: caller)
            return "create \(p.peer.name) ttl \(ttl.map(String.init) ?? "-")"
        case (25..<40, let p?):
            try await store.deletePeer(id: p.id, caller: caller)
            return "delete \(p.name)"
        case (40..<50, let p?):
            _ = try await store.updatePeer(id: p.id, UpdatePeerRequest(enabled: !p.enabled), caller: caller)
            return "enable \(p.name) = \(!p.enabled)"
        case (50..<58, let p?):
            _ = try await store.updatePeer(id: p.id, UpdatePeerRequest(name: "r\(step)"), caller: caller)
            return "rename \(p.name)"
        case (58..<66, let p?):
            let ips = Bool.random(using: &rng) ? [] : ["172.20.0.\(Int.random(in: 0...3, using: &rng) * 64)/26"]
            _ = try await store.updatePeer(id: p.id, UpdatePeerRequest(allowedIPs: ips), caller: caller)
            return "allowedIPs \(p.name) = \(ips)"
        case (66..<72, let p?):
            _ = try await store.updatePeer(id: p.id, UpdatePeerRequest(tunnel: p.tunnel == .full ? "split" : "full", mesh: !p.mesh), caller: caller)
            return "tunnel and mesh \(p.name)"
        case (72..<80, let p?):
            var report = ReportRequest()
            report.candidates = ["192.168.1.\(Int.random(in: 1...200, using: &rng)):51820"]
            report.endpoint = "198.51.100.\(Int.random(in: 1...200, using: &rng)):\(Int.random(in: 1024...65535, using: &rng))"
            try await store.report(peerID: p.id, report, caller: caller)
            return "report \(p.name)"
        case (80..<87, _):
            // Ephemeral peers expire: gone from maps at once, then from the store.
            clock.advance(by: Int64(Int.random(in: 1...20, using: &rng)) * 1000)
            let n = try await store.reapExpired()
            return "clock forward, \(n) reaped"
        case (87..<92, _):
            let gateways = try await store.compiler().topology.gateways
            guard let g = gateways.first else { return "no gateway" }
            let subnets = Bool.random(using: &rng) ? ["172.20.0.0/24"] : ["172.20.0.0/24", "172.21.0.0/24"]
            _ = try await store.updateGateway(id: g.peerID, UpdateGatewayRequest(subnets: subnets), caller: caller)
            return "gateway subnets \(subnets)"
        case (92..<96, _):
            let from = segments[Int.random(in: 0..<3, using: &rng)], to = segments[Int.random(in: 0..<3, using: &rng)]
            do {
                rules.append(try await store.createRule(CreatePolicyRuleRequest(from: from, toSegment: to), caller: caller).id)
                return "rule \(from) -> \(to)"
            } catch let error as APIError { return "rule \(from) -> \(to) refused: \(error)" }
        default:
            guard !rules.isEmpty else { return "no rule to remove" }
            let id = rules.remove(at: Int.random(in: 0..<rules.count, using: &rng))
            try await store.deleteRule(id: id, caller: caller)
            return "remove rule \(id)"
        }
    }

    static func seed(_ store: FerryStore) async throws {
        for s in ["developers", "ci", "others"] { _ = try await store.createSegment(CreateSegmentRequest(name: s), caller: caller) }
        for (name, priority) in [("gw1", 10), ("gw2", 20)] {
            var req = CreateGatewayRequest(name: name, endpoint: "203.0.113.\(priority):51820", subnets: ["172.20.0.0/24"],
                                           publicKey: newPublicKey())
            req.priority = priority
            _ = try await store.createGateway(req, caller: caller)
        }
        for s in ["developers", "ci"] { _ = try await store.createRule(CreatePolicyRuleRequest(from: s, toSubnet: "172.20.0.0/24"), caller: caller) }
        _ = try await store.createRule(CreatePolicyRuleRequest(from: "developers", toSegment: "ci", ports: ["tcp/22"]), caller: caller)
    }

    @Test(arguments: Engine.all) func randomChangesPatchToWhatAFullLoadReads(engine: Engine) async throws {
        let h = try await Harness.make(engine: engine)
        h.clock.catchUpToRealTime()
        try await Self.seed(h.store)
        for seed: UInt64 in [1, 2] {
            var rng = Random(seed: seed)
            var rules: [String] = []
            _ = try await h.store.compiler()
            let fullBefore = h.store.topologyFullLoads, updatesBefore = h.store.topologyReloads
            var wholeChanges = 0
            for step in 0..<40 {
                let change = try await Self.randomChange(h.store, h.clock, &rng, step: step + Int(seed) * 100, rules: &rules)
                if change.hasPrefix("rule") || change.hasPrefix("remove rule") { wholeChanges += 1 }
                try await Self.expectSameAsFullLoad(h.store, now: h.clock.now(), "\(engine) seed \(seed) step \(step) (\(change))")
            }
            // The test is about patches: most updates must have been ones.
            let full = h.store.topologyFullLoads - fullBefore, updates = h.store.topologyReloads - updatesBefore
            #expect(full <= wholeChanges, "seed \(seed): \(full) full loads for \(wholeChanges) rule changes")
            #expect(updates - full >= 20, "seed \(seed): \(updates - full) patches")
        }
    }

    /// Two replicas on one PostgreSQL database: changes made through A reach B's cached
    /// topology as patches read from the change log, whatever wakes B.
    @Test func changesOnAnotherReplicaArePatchedIn() async throws {
        let a = try await Harness.make(engine: .postgres)
        guard let url = a.config.database else { Issue.record("no database"); return }
        let b = try await Harness.make(engine: .postgres, database: url, clock: a.clock)
        a.clock.catchUpToRealTime()
        try await Self.seed(a.store)
        b.store.changes.notify()
        try await Self.expectSameAsFullLoad(b.store, now: b.clock.now(), "replica B after the seed")
        var rng = Random(seed: 7)
        var rules: [String] = []
        let fullBefore = b.store.topologyFullLoads
        var wholeChanges = 0
        for step in 0..<30 {
            let change = try await Self.randomChange(a.store, a.clock, &rng, step: step, rules: &rules)
            if change.hasPrefix("rule") || change.hasPrefix("remove rule") { wholeChanges += 1 }
            // What the LISTEN or the periodic check does on B.
            b.store.changes.notify()
            try await Self.expectSameAsFullLoad(b.store, now: b.clock.now(), "replica B step \(step) (\(change))")
        }
        #expect(b.store.topologyFullLoads - fullBefore <= wholeChanges)
    }

    /// Every table the compiler reads still logs its changes after all migrations (a later
    /// migration that rebuilds a table, as SQLite's ALTER needs, would drop its triggers).
    @Test(arguments: Engine.all) func everyTableTheCompilerReadsIsLogged(engine: Engine) async throws {
        let h = try await Harness.make(engine: engine)
        let sql = engine == .sqlite
            ? "SELECT tbl_name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'topology_changes_%'"
            : "SELECT DISTINCT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid WHERE t.tgname LIKE 'topology_changes_%'"
        let logged = Set(try await h.store.engine.read { db in try String.fetchAll(db, sql: sql) })
        #expect(logged == Set(TopologyChangesMigration.tables.map(\.table)))
        // And they write: one peer created is one row naming it (plus its segment's
        // allocation pointer, which is not logged).
        try await Self.seed(h.store)
        let before = try await h.store.engine.readTopology { try $0.topologySeq() }
        let p = try await h.store.createPeer(CreatePeerRequest(name: "dev", segment: "developers", publicKey: newPublicKey()), caller: Self.caller)
        let rows = try await h.store.engine.readTopology { try $0.topologyChanges(after: before, limit: 10) }
        #expect(rows.map { "\($0.kind) \($0.objectID)" } == ["peer \(p.peer.id)"])
    }

    /// Every column of a logged table is either logged or declared an observation, so a
    /// column added later (which a SQLite trigger's WHEN would not name) is a decision.
    @Test(arguments: Engine.all) func everyColumnIsLoggedOrAnObservation(engine: Engine) async throws {
        let h = try await Harness.make(engine: engine)
        for t in TopologyChangesMigration.tables {
            let columns = try await h.store.engine.read { db in
                try String.fetchAll(db, sql: engine == .sqlite ? "SELECT name FROM pragma_table_info(?)"
                    : "SELECT column_name FROM information_schema.columns WHERE table_name = ? AND table_schema = current_schema()",
                    arguments: [t.table])
            }
            #expect(!columns.isEmpty, "\(t.table)")
            guard engine == .sqlite, let skipped = TopologyChangesMigration.observations[t.table] else { continue }
            // SQLite: the update trigger's WHEN names every column that is not an observation.
            let trigger = try await h.store.engine.read { db in
                try String.fetchOne(db, sql: "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?",
                                    arguments: ["topology_changes_\(t.table)_update"])
            } ?? ""
            for c in columns where !skipped.contains(c) {
                #expect(trigger.contains("OLD.\(c) IS NOT NEW.\(c)"), "\(t.table).\(c) is neither logged nor an observation")
            }
        }
    }

    /// An agent's report of the same endpoint with new counters, and a gateway's heartbeat,
    /// log nothing; a report of a new endpoint logs its peer.
    @Test(arguments: Engine.all) func observationsAreNotLogged(engine: Engine) async throws {
        let h = try await Harness.make(engine: engine)
        try await Self.seed(h.store)
        let p = try await h.store.createPeer(CreatePeerRequest(name: "dev", segment: "developers", publicKey: newPublicKey()), caller: Self.caller)
        let gw = try #require(try await h.store.gateways().first)
        try await h.store.report(peerID: p.peer.id, ReportRequest(endpoint: "198.51.100.7:51820", rxBytes: 1, txBytes: 1), caller: Self.caller)
        _ = try await h.store.gatewayHeartbeat(id: gw.id, GatewayHeartbeatRequest(mapVersion: 1), caller: Self.caller)
        let before = try await h.store.engine.readTopology { try $0.topologySeq() }
        for i in 2...4 {
            try await h.store.report(peerID: p.peer.id, ReportRequest(endpoint: "198.51.100.7:51820", rxBytes: Int64(i), txBytes: Int64(i),
                                                                      latestHandshake: h.clock.now() / 1000), caller: Self.caller)
            _ = try await h.store.gatewayHeartbeat(id: gw.id, GatewayHeartbeatRequest(mapVersion: Int64(i)), caller: Self.caller)
        }
        #expect(try await h.store.engine.readTopology { try $0.topologySeq() } == before)
        try await h.store.report(peerID: p.peer.id, ReportRequest(endpoint: "198.51.100.8:51820"), caller: Self.caller)
        let rows = try await h.store.engine.readTopology { try $0.topologyChanges(after: before, limit: 10) }
        #expect(rows.map { "\($0.kind) \($0.objectID)" } == ["peer \(p.peer.id)"])
        try await Self.expectSameAsFullLoad(h.store, now: h.clock.now(), "after reports and heartbeats")
    }

    /// A cache further behind than the log keeps (pruned) loads everything instead of
    /// patching from a partial log.
    @Test func aPrunedLogLoadsEverything() async throws {
        let h = try await Harness.make()
        try await Self.seed(h.store)
        let p = try await h.store.createPeer(CreatePeerRequest(name: "dev", segment: "developers", publicKey: newPublicKey()), caller: Self.caller)
        _ = try await h.store.compiler()
        let full = h.store.topologyFullLoads
        _ = try await h.store.updatePeer(id: p.peer.id, UpdatePeerRequest(name: "dev2"), caller: Self.caller)
        _ = try await h.store.updatePeer(id: p.peer.id, UpdatePeerRequest(name: "dev3"), caller: Self.caller)
        // The log's oldest rows pruned past the cache's seq, as after `keep` changes.
        try await h.store.engine.write { db in try db.execute(sql: "DELETE FROM topology_changes WHERE seq < (SELECT MAX(seq) FROM topology_changes)") }
        try await Self.expectSameAsFullLoad(h.store, now: h.clock.now(), "after pruning")
        #expect(h.store.topologyFullLoads == full + 1)
        #expect(try await h.store.networkMap(peerID: p.peer.id, caller: Self.caller).name == "dev3")
    }
}

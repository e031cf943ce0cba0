import FerryCore
@testable import FerryServer
import Foundation
import Logging
import Testing

@Suite("Ephemeral peers on a virtual clock")
struct ReaperTests {
    static let period: Int64 = 5_000
    static let ttl = 60

    /// Runs the reaper on the harness's manual clock; `step` advances time and returns once
    /// the reaper has finished the pass that woke and is asleep again.
    final class Driver: Sendable {
        let clock: ManualClock
        let task: Task<Void, any Error>

        init(_ h: Harness) async throws {
            clock = h.clock
            let reaper = Reaper(store: h.store, clock: h.clock, periodMs: ReaperTests.period, logger: Logger(label: "test"))
            task = Task { try await reaper.run() }
            try await settle()
        }

        func settle() async throws {
            for _ in 0..<30_000 where clock.sleeperCount == 0 { try await Task.sleep(for: .milliseconds(1)) }
            #expect(clock.sleeperCount == 1)
        }

        func step(_ ms: Int64) async throws {
            clock.advance(by: ms)
            try await settle()
        }

        deinit { task.cancel() }
    }

    func exists(_ h: Harness, _ id: String) async throws -> Bool {
        (try? await h.store.peer(id: id, caller: .system("t"))) != nil
    }

    /// Never before the TTL; always within TTL + one reaper period; address freed; audited.
    @Test(arguments: Engine.all) func removedBetweenTTLAndTTLPlusOnePeriod(engine: Engine) async throws {
        let h = try await Harness.make(engine: engine)
        _ = try await h.store.createSegment(CreateSegmentRequest(name: "ci", ipv4: "10.10.7.0/30"), caller: .system("t"))
        let created = h.clock.now()
        let eph = try await h.store.createPeer(CreatePeerRequest(name: "job", segment: "ci", publicKey: newPublicKey(), ttlSeconds: Self.ttl),
                                               caller: .system("t")).peer
        _ = try await h.store.createPeer(CreatePeerRequest(name: "keeper", segment: "ci", publicKey: newPublicKey()), caller: .system("t"))
        let driver = try await Driver(h)
        var removedAt: Int64?
        while h.clock.now() - created <= Int64(Self.ttl) * 1000 + Self.period {
            try await driver.step(250)
            let alive = try await exists(h, eph.id)
            let elapsed = h.clock.now() - created
            if elapsed < Int64(Self.ttl) * 1000 { #expect(alive, "removed early at +\(elapsed) ms") }
            if !alive, removedAt == nil { removedAt = elapsed }
        }
        let at = try #require(removedAt, "not removed within TTL + one period")
        #expect(at >= Int64(Self.ttl) * 1000 && at <= Int64(Self.ttl) * 1000 + Self.period)
        let reused = try await h.store.createPeer(CreatePeerRequest(name: "next", segment: "ci", publicKey: newPublicKey()), caller: .system("t"))
        #expect(reused.peer.ipv4 == eph.ipv4, "the expired peer's address was not freed")
        let audit = try await h.store.audit(.init(peer: eph.id))
        #expect(audit.map(\.action) == ["peer.create", "peer.expire"])
        #expect(audit.last?.actor == "system:reaper")
        #expect(h.services.metrics.render().contains("ferry_ephemeral_peers_expired_total 1"))
    }

    /// The TTL survives a restart: not removed early after one, removed on time, and a
    /// peer that expired while ferryd was down goes at the first pass.
    @Test(arguments: Engine.all) func ttlSurvivesRestart(engine: Engine) async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ferry-reaper-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let clock = ManualClock()
        let start = clock.now()
        var ids: [String] = []
        var database: DatabaseURL?
        do {
            let h = try await Harness.make(engine: engine, data: dir, clock: clock)
            database = h.config.database
            _ = try await h.store.createSegment(CreateSegmentRequest(name: "ci"), caller: .system("t"))
            for (name, ttl) in [("a", Self.ttl), ("b", 10)] {
                ids.append(try await h.store.createPeer(CreatePeerRequest(name: name, segment: "ci", publicKey: newPublicKey(), ttlSeconds: ttl),
                                                        caller: .system("t")).peer.id)
            }
        }
        clock.advance(by: 30_000)   // ferryd is down for 30 s
        let h = try await Harness.make(engine: engine, data: dir, database: database, clock: clock)
        let driver = try await Driver(h)
        #expect(try await exists(h, ids[0]), "peer a removed early after a restart")
        #expect(try await !exists(h, ids[1]), "peer b expired while ferryd was down and survived the first pass")
        while h.clock.now() - start < Int64(Self.ttl) * 1000 - 250 {
            try await driver.step(250)
            #expect(try await exists(h, ids[0]))
        }
        while h.clock.now() - start <= Int64(Self.ttl) * 1000 + Self.period { try await driver.step(250) }
        #expect(try await !exists(h, ids[0]))
        #expect(try await h.store.audit(.init(actor: "system:reaper")).map(\.objectID).sorted() == ids.sorted())
    }
}

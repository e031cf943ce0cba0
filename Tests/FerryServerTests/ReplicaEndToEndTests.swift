import FerryCore
@testable import FerryServer
import FerryTestSupport
import Foundation
import Synchronization
import Testing

/// ferryd processes sharing one PostgreSQL database, each with its own --data folder.
final class Replicas: @unchecked Sendable {
    var all: [FerrydProcess] = []
    let data: URL
    let url: String

    init(url: String) {
        self.url = url
        data = FileManager.default.temporaryDirectory.appendingPathComponent("ferry-replicas-\(UUID().uuidString.prefix(8))")
        try? FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
    }

    @discardableResult
    func start(_ extra: [String] = []) async throws -> FerrydProcess {
        let n = all.count
        let port = RawHTTP.freePort()
        // Each replica its own --data (keys, TLS); the store is the database (from the
        // environment, so the password is not in ps).
        let p = try FerrydProcess(data: data.appendingPathComponent("r\(n)"), port: port,
                                  extra: ["--write-rate", "0", "--reaper-period", "200ms"] + extra,
                                  environment: ["FERRY_DATABASE_URL": url])
        try await p.waitUntilUp()
        all.append(p)
        return p
    }

    func base(_ i: Int) -> String { "http://127.0.0.1:\(all[i].port)" }

    func stop() {
        for p in all { p.terminate() }
        try? FileManager.default.removeItem(at: data)
    }
}


/// What the creating writers have had acknowledged.
final class Acknowledged: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [(name: String, id: String)] = []
    func add(_ name: String, _ id: String) { lock.lock(); items.append((name, id)); lock.unlock() }
    var count: Int { lock.lock(); defer { lock.unlock() }; return items.count }
    var all: [(name: String, id: String)] { lock.lock(); defer { lock.unlock() }; return items }
}

/// Three real ferryd processes on one PostgreSQL database (issue 12): peer creations spread
/// over them with one replica SIGKILLed midway, a long poll on one replica woken by a change
/// on another, and ephemeral peers expired exactly once with three reapers running.
@Suite("ferryd replicas on PostgreSQL", .serialized)
struct ReplicaEndToEndTests {
    /// Creations in all, the issue's 2,000 (about 20 s with debug builds on two shared
    /// cores); REPLICA_CREATIONS changes it for a quicker or a longer run by hand.
    static let creations = ProcessInfo.processInfo.environment["REPLICA_CREATIONS"].flatMap(Int.init) ?? 2_000

    static func sql(_ database: String, _ query: String) throws -> String {
        try PostgresServer.start().psql(query, database: database).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test(.timeLimit(.minutes(6)))
    func threeReplicasOneDatabase() async throws {
        let urlText = try await PostgresDatabases.shared.freshURL()
        let database = try DatabaseURL(urlText).database
        let replicas = Replicas(url: urlText)
        defer { replicas.stop() }
        try await replicas.start()
        let token = try #require(replicas.all[0].output.split(whereSeparator: \.isWhitespace).first { $0.hasPrefix("ferry_") }.map(String.init))
        try await replicas.start()
        try await replicas.start()
        #expect(!replicas.all[1].output.contains("ferry_") && !replicas.all[2].output.contains("ferry_"),
                "only the first replica bootstraps the database")
        let seg = try await HTTPClient.request("POST", "\(replicas.base(1))/v1/segments", token: token, json: #"{"name":"load","prefixLength":20}"#)
        try #require(seg.0 == 201, "\(seg.1)")

        // Creations: two writers per replica; replica 2 is SIGKILLed once a third are acknowledged.
        let acked = Acknowledged()
        let refused = Acknowledged()
        let started = ContinuousClock.now
        let deadline = started + .seconds(240)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for w in 0..<6 {
                group.addTask {
                    var i = 0
                    while acked.count < Self.creations, ContinuousClock.now < deadline {
                        i += 1
                        let name = "w\(w)-\(i)"
                        let reply = try? await HTTPClient.request(
                            "POST", "\(replicas.base(w % 3))/v1/peers", token: token,
                            json: #"{"name":"\#(name)","segment":"load","publicKey":"\#(newPublicKey())"}"#)
                        if let (status, body) = reply, status == 201,
                           let created = try? FerryJSON.decoder().decode(PeerCreated.self, from: Data(body.utf8)) {
                            acked.add(name, created.peer.id)
                            continue
                        }
                        // Refused or unanswered: only the killed replica's writers may see that.
                        if w % 3 == 2, !replicas.all[2].process.isRunning { return }
                        refused.add(name, reply.map { "\($0.0) \($0.1.prefix(200))" } ?? "no answer")
                        try await Task.sleep(for: .milliseconds(50))
                    }
                }
            }
            group.addTask {
                while acked.count < Self.creations / 3, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
                replicas.all[2].kill9()
            }
            try await group.waitForAll()
        }
        let elapsed = ContinuousClock.now - started
        let acknowledged = acked.all
        print("replicas: \(acknowledged.count) creations acknowledged in \(elapsed) over 3 replicas, one SIGKILLed midway")
        #expect(acknowledged.count >= Self.creations, "\(acknowledged.count) acknowledged in 240 s")
        // A request in flight on the killed replica may fail; nothing else should.
        #expect(refused.count <= 2, "refused: \(refused.all.prefix(5).map { "\($0.name): \($0.id)" })")
        #expect(replicas.all[2].process.terminationReason == .uncaughtSignal)

        // Every acknowledged creation exactly once, with its audit record; no address twice;
        // nothing half-written (every stored peer has its record, and only one); the audit
        // sequence 1…N without a gap.
        let stored = try Self.sql(database, "SELECT id FROM peers WHERE segment_id = (SELECT id FROM segments WHERE name = 'load')")
            .split(separator: "\n").map(String.init)
        #expect(Set(stored).count == stored.count)
        let missing = Set(acknowledged.map(\.id)).subtracting(stored)
        #expect(missing.isEmpty, "acknowledged but not stored: \(missing.prefix(5))")
        #expect(try Self.sql(database, "SELECT COUNT(*) FROM (SELECT ipv4 FROM peers GROUP BY ipv4 HAVING COUNT(*) > 1) d") == "0")
        #expect(try Self.sql(database, """
            SELECT COUNT(*) FROM peers p WHERE (SELECT COUNT(*) FROM audit a WHERE a.object_id = p.id AND a.action = 'peer.create') <> 1
            """) == "0")
        #expect(try Self.sql(database, """
            SELECT COUNT(*) FROM audit a WHERE a.action = 'peer.create' AND NOT EXISTS (SELECT 1 FROM peers p WHERE p.id = a.object_id)
            """) == "0")
        #expect(try Self.sql(database, "SELECT COUNT(*) = MAX(seq) AND MIN(seq) = 1 FROM audit") == "t")

        // A long poll on replica 1 wakes within 100 ms of a change made on replica 0 (more
        // than a change made on replica 1 itself).
        try await replicas.start()  // three live replicas again (three reapers below)
        let phone = try #require(acknowledged.first)
        /// How long after the change made on `writer` was acknowledged a long poll on
        /// `poller` answered with the new map.
        func wake(poller: Int, writer: Int, mtu: Int) async throws -> Duration {
            let (s0, map0) = try await HTTPClient.request("GET", "\(replicas.base(poller))/v1/peers/\(phone.id)/netmap", token: token)
            #expect(s0 == 200)
            let version = try FerryJSON.decoder().decode(NetworkMap.self, from: Data(map0.utf8)).version
            async let poll: (Int, ContinuousClock.Instant) = {
                let r = try await HTTPClient.request("GET", "\(replicas.base(poller))/v1/peers/\(phone.id)/netmap?since=\(version)&wait=8", token: token)
                return (r.0, ContinuousClock.now)
            }()
            try await Task.sleep(for: .milliseconds(300))  // the poll is waiting
            let patch = try await HTTPClient.request("PATCH", "\(replicas.base(writer))/v1/peers/\(phone.id)", token: token,
                                                     json: #"{"mtu":\#(mtu)}"#)
            let changed = ContinuousClock.now
            #expect(patch.0 == 200, "\(patch.1)")
            let (status, answered) = try await poll
            #expect(status == 200)
            return answered - changed
        }
        var local: [Duration] = [], cross: [Duration] = []
        for round in 0..<5 {
            local.append(try await wake(poller: 1, writer: 1, mtu: 1300 + 2 * round))
            cross.append(try await wake(poller: 1, writer: 0, mtu: 1301 + 2 * round))
        }
        let localMedian = local.sorted()[2], crossMedian = cross.sorted()[2]
        print("replicas: long-poll wake after a change on the same replica \(local), on another replica \(cross)")
        // Cross-replica delivery (NOTIFY, LISTEN, waking the poll) adds under 100 ms to what
        // a change on the poll's own replica costs (reloading and compiling the topology,
        // which a debug build on a loaded 2-core machine makes slow by itself).
        #expect(crossMedian - localMedian < .milliseconds(100), "cross-replica wake \(cross) vs same-replica \(local)")
        #expect(cross.allSatisfy { $0 < .seconds(2) }, "a wake took the safety net's path: \(cross)")

        // A single-use enrolment token used on two replicas at once, with two keys: one
        // enrolment, one refusal, one peer.
        let tokenReply = try await HTTPClient.request("POST", "\(replicas.base(0))/v1/tokens", token: token,
                                                      json: #"{"name":"laptop","scope":"enroll","segment":"load"}"#)
        try #require(tokenReply.0 == 201, "\(tokenReply.1)")
        let enrol = try FerryJSON.decoder().decode(TokenCreated.self, from: Data(tokenReply.1.utf8)).secret
        async let first = HTTPClient.request("POST", "\(replicas.base(0))/v1/enroll", token: enrol,
                                             json: #"{"name":"laptop","publicKey":"\#(newPublicKey())"}"#)
        async let second = HTTPClient.request("POST", "\(replicas.base(1))/v1/enroll", token: enrol,
                                              json: #"{"name":"laptop2","publicKey":"\#(newPublicKey())"}"#)
        let statuses = [try await first.0, try await second.0].sorted()
        #expect(statuses.first == 201 && statuses.last != 201, "both enrolments: \(statuses)")
        #expect(try Self.sql(database, "SELECT COUNT(*) FROM peers WHERE name IN ('laptop', 'laptop2')") == "1")

        // Expiries: 30 ephemeral peers over the live replicas, three reapers at 200 ms.
        var ephemeral: [String] = []
        for i in 0..<30 {
            let r = try await HTTPClient.request("POST", "\(replicas.base([0, 1, 3][i % 3]))/v1/peers", token: token,
                                                 json: #"{"name":"tmp\#(i)","segment":"load","publicKey":"\#(newPublicKey())","ttlSeconds":2}"#)
            #expect(r.0 == 201, "\(r.1)")
            if let p = try? FerryJSON.decoder().decode(PeerCreated.self, from: Data(r.1.utf8)) { ephemeral.append(p.peer.id) }
        }
        let ids = ephemeral.map { "'\($0)'" }.joined(separator: ",")
        for _ in 0..<150 where try Self.sql(database, "SELECT COUNT(*) FROM peers WHERE id IN (\(ids))") != "0" {
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(try Self.sql(database, "SELECT COUNT(*) FROM peers WHERE id IN (\(ids))") == "0", "expired peers still stored")
        // Exactly one expiry record each, and none before its time (created_at + 2 s).
        #expect(try Self.sql(database, "SELECT COUNT(*) FROM audit WHERE action = 'peer.expire' AND object_id IN (\(ids))") == "30")
        #expect(try Self.sql(database, """
            SELECT COUNT(*) FROM audit e JOIN audit c ON c.object_id = e.object_id AND c.action = 'peer.create'
            WHERE e.action = 'peer.expire' AND e.object_id IN (\(ids)) AND e.at < c.at + 2000
            """) == "0")
        #expect(try Self.sql(database, "SELECT COUNT(*) = MAX(seq) FROM audit") == "t")
    }
}

import FerryCore
@testable import FerryServer
import FerryTestSupport
import Foundation
import GRDB
import Testing
import WireGuard

/// Bounded resources and a fast shutdown, against the real ferryd binary over real
/// sockets (timings are asserted on a separate process: the test process's own pool is
/// shared with every other suite).
@Suite("ferryd limits and shutdown", .serialized)
struct RuntimeLimitsTests {
    static func scratch(_ name: String) -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("ferry-\(name)-\(UUID().uuidString)")
    }

    static func adminToken(_ server: FerrydProcess) throws -> String {
        try #require(server.output.split(separator: "\n").compactMap { $0.split(separator: " ").first { $0.hasPrefix("ferry_") } }.first
            .map(String.init))
    }

    /// A value of a metric line `name{...} value` or `name value` in /metrics text.
    static func metric(_ text: String, _ name: String) -> Double? {
        text.split(separator: "\n").first { $0.hasPrefix(name + " ") || $0.hasPrefix(name + "{") }
            .flatMap { $0.split(separator: " ").last.flatMap { Double($0) } }
    }

    static func metrics(_ port: Int) async throws -> String {
        try await HTTPClient.request("GET", "http://127.0.0.1:\(port)/metrics", token: nil).1
    }

    /// A ferryd with one peer and `count` long polls waiting on its map (raw sockets).
    static func serverWithLongPolls(_ dir: URL, _ count: Int, logs: Bool = false) async throws -> (FerrydProcess, [Int32]) {
        let port = RawHTTP.freePort()
        let server = try FerrydProcess(data: dir, port: port, extra: ["--max-long-polls-per-token", "100"], logs: logs)
        try await server.waitUntilUp()
        let admin = try Self.adminToken(server)
        let base = "http://127.0.0.1:\(port)"
        _ = try await HTTPClient.request("POST", "\(base)/v1/segments", token: admin, json: #"{"name":"dev"}"#)
        let created = try await HTTPClient.request("POST", "\(base)/v1/peers", token: admin,
                                                   json: #"{"name":"laptop","segment":"dev","publicKey":"\#(newPublicKey())"}"#)
        let peer = try FerryJSON.decoder().decode(PeerCreated.self, from: Data(created.1.utf8)).peer
        let map = try FerryJSON.decoder().decode(NetworkMap.self,
                                                 from: Data(try await HTTPClient.request("GET", "\(base)/v1/peers/\(peer.id)/netmap", token: admin).1.utf8))
        let polls = try (0..<count).map { _ in
            let fd = try RawHTTP.connect(port: port)
            try RawHTTP.send(fd, RawHTTP.request("GET", "/v1/peers/\(peer.id)/netmap?since=\(map.version)&wait=60", token: admin))
            return fd
        }
        try await waitForLongPolls(port, count)
        return (server, polls)
    }

    /// Waits until ferryd says `count` long polls are waiting.
    static func waitForLongPolls(_ port: Int, _ count: Int) async throws {
        var waiting = 0.0
        for _ in 0..<400 where waiting < Double(count) {
            try await Task.sleep(for: .milliseconds(50))
            waiting = metric(try await metrics(port), "ferry_long_polls") ?? 0
        }
        #expect(waiting == Double(count))
    }

    /// Under an open-file limit of 1,024, 5,000 idle connections and 500 half-sent
    /// requests do not keep /health from answering within 100 ms: at the connection cap
    /// the oldest idle connection makes room, and ferryd never runs out of descriptors.
    @Test func idleFloodDoesNotStarveHealth() async throws {
        ServerLimits.raiseOpenFileLimit()
        guard ServerLimits.openFileLimit() >= 6_000 else {
            print("SKIPPED idleFloodDoesNotStarveHealth: the test process cannot open 6,000 files")
            return
        }
        let dir = Self.scratch("flood")
        defer { try? FileManager.default.removeItem(at: dir) }
        let port = RawHTTP.freePort()
        let server = try FerrydProcess(data: dir, port: port, launcher: ["/usr/bin/prlimit", "--nofile=1024:1024"])
        defer { server.terminate() }
        try await server.waitUntilUp()
        #expect(server.output.contains("up to 960 connections"), "\(server.output)")

        var idle: [Int32] = [], partial: [Int32] = []
        defer { RawHTTP.close(idle + partial) }
        for _ in 0..<5_000 { idle.append(try RawHTTP.connect(port: port)) }
        for _ in 0..<500 {
            let fd = try RawHTTP.connect(port: port)
            partial.append(fd)
            try RawHTTP.send(fd, "GET /v1/network HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthoriz")
        }
        // Until ferryd has taken every one of them off its accept queue (connect returns
        // as soon as the kernel has the connection, before ferryd accepts it).
        var seen = 0.0
        for _ in 0..<1_200 where seen < 5_500 {  // up to a minute for a debug ferryd on a busy machine
            let text = try await Self.metrics(port)
            seen = (Self.metric(text, "ferry_http_connections_closed{reason=\"evicted\"}") ?? 0)
                + ["idle", "headers", "body", "handling"].compactMap { Self.metric(text, "ferry_http_connections{phase=\"\($0)\"}") }.reduce(0, +)
            if seen < 5_500 { try await Task.sleep(for: .milliseconds(50)) }
        }
        #expect(seen >= 5_500)
        var times: [Duration] = []
        for _ in 0..<10 {
            let (status, took) = try RawHTTP.timed(port: port, "GET", "/health")
            #expect(status == 200)
            times.append(took)
        }
        let files = RawHTTP.openFiles(pid: server.process.processIdentifier)
        print("flood: /health took \(times.map { "\($0)" }.joined(separator: ", ")); ferryd holds \(files) files")
        #expect(times.allSatisfy { $0 < .milliseconds(100) }, "\(times)")
        #expect(files > 0 && files < 1024)
        let text = try await Self.metrics(port)
        #expect((Self.metric(text, "ferry_http_connections_closed{reason=\"evicted\"}") ?? 0) >= 4_000, "\(text)")
    }

    /// A long poll whose client goes away is dropped at once: its socket does not sit in
    /// CLOSE-WAIT until the wait ends, and it no longer counts against the caps.
    @Test func abandonedLongPollsReleaseTheirSockets() async throws {
        let dir = Self.scratch("abandon")
        defer { try? FileManager.default.removeItem(at: dir) }
        let (server, polls) = try await Self.serverWithLongPolls(dir, 50)
        defer { server.terminate() }
        let port = server.port
        let closedAt = ContinuousClock.now
        RawHTTP.close(polls)
        var lingering = -1
        var gone = Duration.zero
        while ContinuousClock.now - closedAt < .seconds(3) {
            lingering = RawHTTP.closeWaitCount(port: port)
            let still = Self.metric(try await Self.metrics(port), "ferry_long_polls") ?? -1
            gone = ContinuousClock.now - closedAt
            if lingering == 0, still == 0 { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        print("abandoned long polls: released after \(gone)")
        #expect(lingering == 0)
        #expect(gone < .seconds(1))
    }

    /// With 10,000 peers, 1,000 waiting long polls all wake within a second of a change
    /// that alters every map (two here: a debug build under load), and the topology is
    /// loaded once for all of them.
    @Test func thousandLongPollsWakeTogether() async throws {
        ServerLimits.raiseOpenFileLimit()
        let dir = Self.scratch("wake")
        defer { try? FileManager.default.removeItem(at: dir) }
        // The store is filled in-process (the same code ferryd runs), then served by ferryd.
        var config = FerryConfiguration(dataDirectory: dir)
        config.logLevel = .critical
        config.initialIPv4 = IPPrefix("10.0.0.0/8")
        let (admin, polled): (String, [(String, Int64)]) = try await {
            let services = try await buildServices(config)
            let store = services.store
            let admin = try #require(services.bootstrapSecret)
            _ = try await store.createSegment(CreateSegmentRequest(name: "bulk", ipv4: "10.1.0.0/16"), caller: .system("test"))
            let filling = ContinuousClock.now
            // Straight into the table (the allocator's per-peer checks would take most of the
            // test's time); addresses 10.1.0.1 up, random keys.
            let database = try #require(services.database)
            let ids = try await database.write { db -> [String] in
                guard let segment = try SQLRepository(GRDBTransaction(db)).segment(named: "bulk") else { throw RawHTTP.Failure(description: "no segment") }
                let statement = try db.makeStatement(sql: """
                    INSERT INTO peers (id, name, kind, owner, segment_id, ipv4, public_key, tunnel, mesh, enabled, created_at, updated_at, created_by)
                    VALUES (?, ?, 'device', 't', ?, ?, ?, 'split', 0, 1, 1, 1, 'system:test')
                    """)
                return try (0..<10_000).map { i in
                    let key = Data((0..<32).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
                    try statement.execute(arguments: ["p_bulk\(i)", "p\(i)", segment.id, Int64(0x0A01_0001 + i), key])
                    return "p_bulk\(i)"
                }
            }
            store.changes.notify()
            print("10,000 peers stored in \(ContinuousClock.now - filling)")
            var polled: [(String, Int64)] = []
            for id in ids.prefix(1_000) { polled.append((id, try await store.networkMap(peerID: id, caller: .system("test")).version)) }
            return (admin, polled)
        }()
        let port = RawHTTP.freePort()
        let server = try FerrydProcess(data: dir, port: port, extra: ["--max-long-polls-per-token", "2000", "--max-long-polls", "2000"])
        defer { server.terminate() }
        try await server.waitUntilUp()
        // The first map loads the topology; then every poll waits on it.
        let cold = ContinuousClock.now
        #expect(try await HTTPClient.request("GET", "http://127.0.0.1:\(port)/v1/peers/\(polled[0].0)/netmap", token: admin).0 == 200)
        print("first map (topology load of 10,000 peers) took \(ContinuousClock.now - cold)")
        let fds = try polled.map { id, version in
            let fd = try RawHTTP.connect(port: port)
            try RawHTTP.send(fd, RawHTTP.request("GET", "/v1/peers/\(id)/netmap?since=\(version)&wait=60", token: admin))
            return fd
        }
        defer { RawHTTP.close(fds) }
        try await Self.waitForLongPolls(port, 1_000)
        let reloadsBefore = Self.metric(try await Self.metrics(port), "ferry_topology_reloads_total") ?? -1
        let changedAt = ContinuousClock.now
        let patched = try await HTTPClient.request("PATCH", "http://127.0.0.1:\(port)/v1/network", token: admin, json: #"{"dns":["10.0.0.53"]}"#)
        #expect(patched.0 == 200, "\(patched.1)")
        let woke = RawHTTP.whenReadable(fds, timeout: .seconds(10))
        let latest = woke.values.max().map { $0 - changedAt } ?? .seconds(99)
        let statuses = Set(fds.prefix(20).map { RawHTTP.status(RawHTTP.read($0)) })
        let reloadsAfter = Self.metric(try await Self.metrics(port), "ferry_topology_reloads_total") ?? -1
        print("1,000 long polls at 10,000 peers: all answered \(latest) after the change; \(reloadsAfter - reloadsBefore) topology reload(s)")
        #expect(woke.count == 1_000)
        // The claim is one second (the release build answers 1,000 in under 300 ms, see
        // docs/PERFORMANCE-RESULTS.md; this debug build in about 0.6 s on a quiet machine);
        // with every other suite running on the same two cores it has taken 1.04 s, so the
        // bound here is two. Without the single-flight load it is over ten.
        #expect(latest < .seconds(2))
        #expect(statuses == [200])
        #expect(reloadsAfter - reloadsBefore == 1)
    }

    /// SIGTERM with long polls waiting: they are answered at once (so agents reconnect)
    /// and ferryd exits 0 within two seconds, saying what it did.
    @Test func sigtermWithLongPollsExitsWithinTwoSeconds() async throws {
        let dir = Self.scratch("sigterm")
        defer { try? FileManager.default.removeItem(at: dir) }
        let (server, polls) = try await Self.serverWithLongPolls(dir, 20, logs: true)
        defer { server.terminate() }
        defer { RawHTTP.close(polls) }
        let start = ContinuousClock.now
        server.process.terminate()
        let answered = RawHTTP.whenReadable(polls, timeout: .seconds(3))
        let statuses = Set(polls.map { RawHTTP.status(RawHTTP.read($0, timeout: .milliseconds(100))) })
        while server.process.isRunning, ContinuousClock.now - start < .seconds(5) { try await Task.sleep(for: .milliseconds(10)) }
        let took = ContinuousClock.now - start
        print("SIGTERM with 20 long polls waiting: exited after \(took)")
        #expect(!server.process.isRunning)
        #expect(took < .seconds(2))
        #expect(server.process.terminationStatus == 0)
        #expect(answered.count == 20 && statuses == [304], "\(statuses)")
        #expect(server.output.contains("answered waiting long polls"), "\(server.output)")
    }
}

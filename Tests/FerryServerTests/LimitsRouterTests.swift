import FerryCore
@testable import FerryServer
import FerryTestSupport
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

/// The limits that need no sockets, through the router: write rate limits, long-poll
/// caps, a report that changes nothing, the streamed audit export, single-flight topology
/// loads.
@Suite("ferryd limits (router)")
struct LimitsRouterTests {
    /// Past its burst a token's writes get 429 `rate_limited` with Retry-After, and nothing
    /// is written; another token and reads are not affected.
    @Test(arguments: Engine.all) func writeRateLimitPerToken(engine: Engine) async throws {
        let h = try await Harness.make(engine: engine) { c in
            // One write per 1,000 s after the burst: no refill during the test, however slow.
            c.limits.writeRate = 0.001
            c.limits.writeBurst = 3
        }
        try await h.withClient { client in
            let other = try await h.token(client, #"{"name":"other","scope":"admin"}"#)   // write 1 of the admin
            for i in 0..<2 {
                let r = try await client.call(.post, "/v1/segments", token: h.admin, json: #"{"name":"s\#(i)"}"#)
                #expect(r.status == 201, "\(r.body)")
            }
            let audit = try await h.store.auditCount()
            try await client.execute(uri: "/v1/segments", method: .post,
                                     headers: [.authorization: "Bearer \(h.admin)", .contentType: "application/json"],
                                     body: ByteBuffer(string: #"{"name":"s9"}"#)) { r in
                #expect(r.status.code == 429)
                #expect((900...1000).contains(Int(r.headers[.retryAfter] ?? "") ?? 0), "\(r.headers)")
                #expect(String(buffer: r.body).contains("rate_limited"))
            }
            #expect(try await h.store.auditCount() == audit)
            #expect(try await client.call(.get, "/v1/segments", token: h.admin).status == 200)
            #expect(try await client.call(.post, "/v1/segments", token: other, json: #"{"name":"s9"}"#).status == 201)
        }
    }

    /// Writes without a token (the OIDC exchange) are limited per source address: past
    /// the burst the exchange answers 429 before it looks at the token.
    @Test(arguments: Engine.all) func anonymousWritesAreLimitedPerSource(engine: Engine) async throws {
        let h = try await Harness.make(engine: engine) { c in
            c.limits.writeRate = 0.001
            c.limits.writeBurst = 2
        }
        try await h.withClient { client in
            let body = #"{"token":"x.y.z","publicKey":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}"#
            for _ in 0..<2 {
                let r = try await client.call(.post, "/v1/ci/oidc", token: nil, json: body)
                #expect(r.status != 429, "\(r.body)")
            }
            let r = try await client.call(.post, "/v1/ci/oidc", token: nil, json: body)
            #expect(r.status == 429, "\(r.body)")
            #expect(r.body.contains("rate_limited"))
        }
    }

    /// Past the per-token cap a long poll gets 429 `too_many_long_polls` at once; a drain
    /// (shutdown) answers the waiting one with 304 at once.
    @Test(arguments: Engine.all) func longPollCapAndDrain(engine: Engine) async throws {
        let h = try await Harness.make(engine: engine) { c in c.limits.longPollsPerToken = 1 }
        try await h.withClient { client in
            try await h.seed(client)
            let p = try await h.peer(client, name: "laptop")
            let version = try await client.call(.get, "/v1/peers/\(p.id)/netmap", token: h.admin).decode(NetworkMap.self).version
            let path = "/v1/peers/\(p.id)/netmap?since=\(version)&wait=30"
            let first = Task { try await client.call(.get, path, token: h.admin).status }
            for _ in 0..<200 where h.services.longPolls.waiting < 1 { try await Task.sleep(for: .milliseconds(10)) }
            #expect(h.services.longPolls.waiting == 1)
            try await client.execute(uri: path, method: .get, headers: [.authorization: "Bearer \(h.admin)"]) { r in
                #expect(r.status.code == 429)
                #expect(r.headers[.retryAfter] == "1")
                #expect(String(buffer: r.body).contains("too_many_long_polls"))
            }
            let start = ContinuousClock.now
            #expect(h.services.longPolls.drain() == 1)
            #expect(try await first.value == 304)
            #expect(ContinuousClock.now - start < .seconds(5))
            // After a drain a poll answers without waiting.
            #expect(try await client.call(.get, path, token: h.admin).status == 304)
        }
    }

    /// A report that changes nothing writes no audit record and wakes no one; a new
    /// endpoint does both.
    @Test(arguments: Engine.all) func unchangedReportIsSilent(engine: Engine) async throws {
        let h = try await Harness.make(engine: engine)
        try await h.withClient { client in
            try await h.seed(client)
            let p = try await h.peer(client, name: "laptop")
            let report = #"{"endpoint":"198.51.100.7:51820","rxBytes":10,"txBytes":20}"#
            #expect(try await client.call(.post, "/v1/peers/\(p.id)/report", token: h.admin, json: report).status == 204)
            let audit = try await h.store.auditCount(), revision = h.store.changes.revision
            #expect(try await client.call(.post, "/v1/peers/\(p.id)/report", token: h.admin,
                                          json: #"{"endpoint":"198.51.100.7:51820","rxBytes":30,"txBytes":40}"#).status == 204)
            #expect(try await h.store.auditCount() == audit)
            #expect(h.store.changes.revision == revision)
            #expect(try await client.call(.post, "/v1/peers/\(p.id)/report", token: h.admin,
                                          json: #"{"endpoint":"198.51.100.8:51820"}"#).status == 204)
            #expect(try await h.store.auditCount() == audit + 1)
            #expect(h.store.changes.revision == revision + 1)
        }
    }

    /// The export streams page after page (500 records each) with every record once, in
    /// order, filters applied across pages.
    @Test(arguments: Engine.all) func auditExportStreamsEveryPage(engine: Engine) async throws {
        let h = try await Harness.make(engine: engine)
        _ = try await h.store.write(.system("test")) { _, audit, _ in
            for i in 0..<1_234 {
                audit.append(AuditEntry(action: "test.bulk", objectType: "test", objectID: "t\(i)", peerID: i % 2 == 0 ? "even" : nil))
            }
        }
        let total = try await h.store.auditCount()
        try await h.withClient { client in
            let all = try await client.call(.get, "/v1/audit/export", token: h.admin)
            #expect(all.status == 200)
            let seqs = try all.body.split(separator: "\n").map { try FerryJSON.decoder().decode(AuditEventView.self, from: Data($0.utf8)).seq }
            #expect(seqs.count == total)
            #expect(seqs == seqs.sorted() && Set(seqs).count == seqs.count)
            let even = try await client.call(.get, "/v1/audit/export?peer=even", token: h.admin)
            #expect(even.body.split(separator: "\n").count == 617)
            #expect(try await client.call(.get, "/v1/audit/export?since=yesterday", token: h.admin).status == 400)
        }
    }

    /// Many callers wanting the topology after one change share one load.
    @Test(arguments: Engine.all) func topologyLoadIsSingleFlight(engine: Engine) async throws {
        let h = try await Harness.make(engine: engine)
        try await h.withClient { client in try await h.seed(client) }
        _ = try await h.store.compiler()
        let before = h.store.topologyReloads
        _ = try await h.store.updateNetwork(UpdateNetworkRequest(keepalive: 21), caller: .system("test"))
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<200 { group.addTask { _ = try await h.store.compiler() } }
            try await group.waitForAll()
        }
        #expect(h.store.topologyReloads == before + 1)
    }
}

/// The idle, header and body timeouts, on the in-process application listening on a real
/// port (short timeouts; bounds generous for a loaded machine: the sweep runs once a second).
@Suite("ferryd timeouts (in-process, real port)")
struct TimeoutTests {
    @Test func idleHeaderAndBodyTimeoutsCloseConnections() async throws {
        let port = RawHTTP.freePort()
        let h = try await Harness.make { c in
            c.port = port
            c.limits.idleTimeout = .seconds(3)
            c.limits.headerTimeout = .seconds(1)
            c.limits.bodyTimeout = .seconds(1)
        }
        let group = serviceGroup(try buildApplication(h.config, services: h.services), services: h.services, limits: h.config.limits,
                                 signals: false)
        let running = Task { try await group.run() }
        defer { running.cancel() }
        var up = false
        for _ in 0..<200 where !up {
            up = (try? RawHTTP.timed(port: port, "GET", "/health").0) == 200
            if !up { try await Task.sleep(for: .milliseconds(25)) }
        }
        #expect(up)
        let start = ContinuousClock.now
        let idle = try RawHTTP.connect(port: port)
        let headers = try RawHTTP.connect(port: port)
        try RawHTTP.send(headers, "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        let body = try RawHTTP.connect(port: port)
        try RawHTTP.send(body, "POST /v1/segments HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(h.admin)\r\n"
                         + "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"name\":")
        let answered = try RawHTTP.connect(port: port)
        try RawHTTP.send(answered, RawHTTP.request("GET", "/health"))
        defer { RawHTTP.close([idle, headers, body, answered]) }
        #expect(RawHTTP.status(RawHTTP.read(answered, timeout: .seconds(10))) == 200)
        // Lower bounds show each close is its timeout's doing; the upper ones leave room for a
        // 2-core machine running every suite at once (the sweeper ticks once a second).
        let closed = RawHTTP.whenReadable([idle, headers, body], timeout: .seconds(20))
        let after = closed.mapValues { $0 - start }
        print("timeouts: idle closed after \(after[idle] ?? .zero), half-sent headers after \(after[headers] ?? .zero), "
              + "half-sent body after \(after[body] ?? .zero)")
        for fd in [headers, body] {
            #expect(RawHTTP.read(fd, timeout: .milliseconds(100)) == "", "closed without an answer")
            #expect((after[fd] ?? .zero) >= .milliseconds(900) && (after[fd] ?? .seconds(99)) < .seconds(12))
        }
        #expect((after[idle] ?? .zero) >= .milliseconds(2900) && (after[idle] ?? .seconds(99)) < .seconds(15))
        await group.triggerGracefulShutdown()
        try await running.value
    }
}

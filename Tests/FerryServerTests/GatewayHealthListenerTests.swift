import FerryCore
@testable import FerryServer
import FerryTestSupport
import Foundation
import HummingbirdTesting
import Logging
import Synchronization
import Testing
import WireGuard
#if canImport(Glibc)
import Glibc
#endif

/// `ferryd gateway --health-listen`: /health and /metrics of a remote gateway that follows
/// a real coordinator (ferryd's router, its store and its gateway token), with the
/// recording interface of the gateway sync tests and a firewall that can be broken. The
/// real controllers and processes run in the failover end-to-end test.
@Suite("Remote gateway health listener")
struct GatewayHealthListenerTests {
    /// The coordinator as the remote gateway sees it, through the test client; `reachable`
    /// false makes every request fail as an unreachable coordinator does.
    final class Upstream: GatewayUpstream {
        let client: any TestClientProtocol
        let id: String
        let token: String
        let reachable = Mutex(false)
        struct Unreachable: Error, CustomStringConvertible { var description: String { "connection refused" } }
        init(client: any TestClientProtocol, id: String, token: String) {
            self.client = client
            self.id = id
            self.token = token
        }

        func map(since: Int64?, wait: Int) async throws -> NetworkMap? {
            guard reachable.withLock({ $0 }) else { throw Unreachable() }
            let r = try await client.call(.get, "/v1/peers/\(id)/netmap?interface=wgtest0", token: token)
            guard r.status == 200 else { throw Unreachable() }
            let map = try r.decode(NetworkMap.self)
            // A long poll that saw nothing new.
            if map.version == since { try await Task.sleep(for: .milliseconds(200)); return nil }
            return map
        }

        func heartbeat(_ request: GatewayHeartbeatRequest) async throws -> GatewayHeartbeatResponse {
            guard reachable.withLock({ $0 }) else { throw Unreachable() }
            let body = String(decoding: try FerryJSON.encoder().encode(request), as: UTF8.self)
            let r = try await client.call(.post, "/v1/gateways/\(id)/heartbeat", token: token, json: body)
            guard r.status == 200 else { throw Unreachable() }
            return try r.decode(GatewayHeartbeatResponse.self)
        }

        var coordinator: String? { "https://co-a.test:8443" }
    }

    /// The recording interface's firewall, until `broken`: then the table is gone and
    /// cannot be loaded (as when nftables is missing or refuses the ruleset).
    final class BreakableFirewall: FirewallController {
        let inner: RecordingInterface
        let broken = Mutex(false)
        struct Refused: Error, CustomStringConvertible { var description: String { "nft: Operation not permitted" } }
        init(_ inner: RecordingInterface) { self.inner = inner }
        func apply(nftables: String) async throws {
            if broken.withLock({ $0 }) { throw Refused() }
            try await inner.apply(nftables: nftables)
        }
        func remove(interface: String) async throws {}
        func live(interface: String) async throws -> String? { broken.withLock { $0 } ? nil : try await inner.live(interface: interface) }
        func guardForwarding(interface: String) async throws {}
    }

    /// GET over a fresh loopback connection: status and body. On a thread of its own: the
    /// blocking socket must not hold one of the few cooperative threads the listener's
    /// handlers (and every other suite running in parallel) need.
    static func get(_ port: Int, _ path: String) async throws -> (status: Int?, body: String) {
        try await withCheckedThrowingContinuation { done in
            Thread { done.resume(with: Result { try blockingGet(port, path) }) }.start()
        }
    }

    static func blockingGet(_ port: Int, _ path: String) throws -> (status: Int?, body: String) {
        let fd = try RawHTTP.connect(port: port)
        defer { close(fd) }
        try RawHTTP.send(fd, RawHTTP.request("GET", path, close: true))
        var answer = ""
        while true {
            let part = RawHTTP.read(fd, timeout: .seconds(5))
            if part.isEmpty { break }
            answer += part
        }
        let body = answer.range(of: "\r\n\r\n").map { String(answer[$0.upperBound...]) } ?? ""
        return (RawHTTP.status(answer), body)
    }

    /// Polls `path` until `check` holds, up to `within`; returns the last answer.
    static func eventually(_ port: Int, _ path: String, within: Duration = .seconds(10),
                           _ check: (Int?, String) -> Bool) async throws -> (status: Int?, body: String) {
        let deadline = ContinuousClock.now + within
        var last = try await get(port, path)
        while !check(last.status, last.body), ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(100))
            last = try await get(port, path)
        }
        return last
    }

    @Test func healthFollowsMapFirewallAndCoordinatorContact() async throws {
        let h = try await Harness.make()
        try await h.withClient { c in
            try await h.seed(c)
            let key = PrivateKey.generate()
            let g = try await c.call(.post, "/v1/gateways", token: h.admin, json: #"""
                {"name":"g1","endpoint":"203.0.113.1:51820","subnets":["172.21.0.0/24"],"publicKey":"\#(key.publicKey.base64)","masquerade":true}
                """#)
            #expect(g.status == 201, "\(g.body)")
            let id = try g.decode(GatewayView.self).id
            let t = try await c.call(.post, "/v1/gateways/\(id)/token", token: h.admin)
            let rule = try await c.call(.post, "/v1/policy/rules", token: h.admin, json: #"{"from":"developers","toSubnet":"172.21.0.0/24"}"#)
            #expect(rule.status == 201, "\(rule.body)")
            _ = try await h.peer(c, name: "dev")
            let upstream = Upstream(client: c, id: id, token: try t.decode(TokenCreated.self).secret)
            let recording = RecordingInterface()
            let firewall = BreakableFirewall(recording)
            var logger = Logger(label: "test-remote-gateway")
            logger.logLevel = .critical
            let metrics = FerryMetrics()
            let status = RemoteGatewayStatus(contactMaxAge: .seconds(3))
            var options = RemoteGateway.Options()
            options.heartbeatEvery = .milliseconds(200)
            options.maxBackoff = .milliseconds(200)
            let gateway = RemoteGateway(upstream: upstream, privateKey: key, interface: recording, firewall: firewall,
                                        metrics: metrics, logger: logger, status: status, options: options)
            let port = RawHTTP.freePort()
            let listening = AsyncStream.makeStream(of: Void.self)
            let listen = try #require(HostPort(host: "127.0.0.1", port: UInt16(port)))
            let listener = GatewayHealthListener.application(listen: listen, status: status,
                                                             metrics: metrics, logger: logger) { listening.continuation.yield() }
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await gateway.run() }
                group.addTask { try await listener.runService() }
                defer { group.cancelAll() }
                for await _ in listening.stream { break }

                // Never reached a coordinator: no map, no contact.
                let before = try await Self.get(port, "/health")
                #expect(before.status == 503)
                let degraded = try FerryJSON.decoder().decode(HealthView.self, from: Data(before.body.utf8))
                #expect(degraded.status == "degraded")
                #expect(degraded.problems?.count == 2 && degraded.problems?.first == "no network map from the coordinator yet", "\(before.body)")
                // The failing request's reason joins once the first one has failed.
                #expect(degraded.problems?.last?.hasPrefix("no answer from a coordinator yet") == true, "\(before.body)")
                let reason = try await Self.eventually(port, "/health") { _, b in b.contains("last error: connection refused") }
                #expect(reason.body.contains("no answer from a coordinator yet; last error: connection refused"), "\(reason.body)")
                #expect(try await Self.get(port, "/metrics").body.contains("ferry_gateway_coordinator_contact_age_seconds +Inf"))

                // The coordinator answers: converged, firewall loaded, contact fresh.
                upstream.reachable.withLock { $0 = true }
                let ok = try await Self.eventually(port, "/health") { s, _ in s == 200 }
                #expect(ok.status == 200, "\(ok.body)")
                #expect(try FerryJSON.decoder().decode(HealthView.self, from: Data(ok.body.utf8)) == HealthView(status: "ok", version: ferryVersion))
                // 200 already while a received map is within its grace to be applied: wait for it.
                let deadline = ContinuousClock.now + .seconds(20)
                while !(recording.lastRules.contains("172.21.0.0/24") && recording.last?.peers.count == 1), ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(100))
                }
                #expect(recording.lastRules.contains("172.21.0.0/24"), "the gateway's firewall was loaded")
                #expect(recording.last?.peers.count == 1, "the developer is a peer of the gateway")
                let m = try await Self.get(port, "/metrics").body
                #expect(m.contains("ferry_gateway_healthy 1"), "\(m)")
                #expect(m.contains("ferry_gateway_coordinator_active{url=\"https://co-a.test:8443\"} 1"), "\(m)")
                #expect(m.contains("ferry_gateway_firewall_failures_total 0"), "\(m)")
                let received = m.split(separator: "\n").first { $0.hasPrefix("ferry_gateway_map_version ") }
                let applied = m.split(separator: "\n").first { $0.hasPrefix("ferry_gateway_applied_map_version ") }
                #expect(received?.split(separator: " ").last == applied?.split(separator: " ").last && received != nil)
                #expect(!m.contains("ferry_gateway_converges_total 0"))
                #expect(!m.contains("ferry_ephemeral_peers_created_total") && !m.contains("ferry_http_"), "only a gateway's series: \(m)")

                // The firewall cannot be loaded: the gateway serves nobody and says why.
                firewall.broken.withLock { $0 = true }
                let fw = try await Self.eventually(port, "/health") { _, b in b.contains("could not be loaded") }
                #expect(fw.status == 503, "\(fw.body)")
                let fwView = try FerryJSON.decoder().decode(HealthView.self, from: Data(fw.body.utf8))
                let firewallProblems = fwView.problems?.filter { $0.contains("Operation not permitted") } ?? []
                #expect(firewallProblems.count == 1, "the firewall's problem, said once: \(fw.body)")
                #expect(firewallProblems.first?.hasPrefix("the firewall of wgtest0 could not be loaded") == true, "\(fw.body)")
                #expect(try await Self.get(port, "/metrics").body.contains("ferry_gateway_healthy 0"))
                #expect(recording.last?.peers.isEmpty == true, "fail closed: no peer on the interface")
                firewall.broken.withLock { $0 = false }
                #expect(try await Self.eventually(port, "/health") { s, _ in s == 200 }.status == 200)
                let failures = try await Self.get(port, "/metrics").body.split(separator: "\n")
                    .first { $0.hasPrefix("ferry_gateway_firewall_failures_total ") }
                #expect(failures != nil && failures != "ferry_gateway_firewall_failures_total 0")

                // The coordinator stops answering: still converged, but no recent contact.
                upstream.reachable.withLock { $0 = false }
                let away = try await Self.eventually(port, "/health") { s, _ in s == 503 }
                let awayView = try FerryJSON.decoder().decode(HealthView.self, from: Data(away.body.utf8))
                #expect(awayView.problems?.count == 1, "\(away.body)")
                #expect(awayView.problems?.first?.hasPrefix("no answer from a coordinator for ") == true, "\(away.body)")
                #expect(awayView.problems?.first?.hasSuffix("(last: https://co-a.test:8443); last error: connection refused") == true, "\(away.body)")
                #expect(try await Self.get(port, "/nothing").status == 404)
            }
        }
    }

    /// Idle connections beyond the listener's cap (a pod network can reach it) make room
    /// for new ones instead of taking the gateway's descriptors: /health still answers.
    @Test func idleConnectionsDoNotStarveTheProbe() async throws {
        var logger = Logger(label: "test-health-cap")
        logger.logLevel = .critical
        let port = RawHTTP.freePort()
        let listen = try #require(HostPort(host: "127.0.0.1", port: UInt16(port)))
        let listening = AsyncStream.makeStream(of: Void.self)
        let listener = GatewayHealthListener.application(listen: listen, status: RemoteGatewayStatus(contactMaxAge: .seconds(3)),
                                                         metrics: FerryMetrics(), logger: logger) { listening.continuation.yield() }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await listener.runService() }
            defer { group.cancelAll() }
            for await _ in listening.stream { break }
            let idle = try (0..<(GatewayHealthListener.maxConnections * 4)).map { _ in try RawHTTP.connect(port: port) }
            defer { RawHTTP.close(idle) }
            // Answered (the handler may wait for a thread while every suite runs: a time
            // bound here measured the machine, not the cap).
            let answer = try await Self.eventually(port, "/health", within: .seconds(30)) { status, _ in status != nil }
            #expect(answer.status == 503, "no coordinator yet: degraded, but answered (\(answer.body))")
            // The server closed the oldest idle ones to stay at its cap (EOF: readable).
            let closed = try await offCooperativePool { RawHTTP.whenReadable(idle, timeout: .seconds(3)).count }
            #expect(closed >= idle.count - GatewayHealthListener.maxConnections, "\(closed) of \(idle.count) closed")
        }
    }

    /// `--health-listen` takes an IP and a port; anything else is a usage error before the
    /// gateway touches anything.
    @Test func aBadHealthListenIsAUsageError() async throws {
        let state = NSTemporaryDirectory() + "ferry-gw-health-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: state) }
        for bad in ["localhost:9101", "127.0.0.1", "127.0.0.1:0", "0.0.0.0:99999"] {
            let (status, output) = try await Binaries.run(Binaries.ferryd.path, ["gateway", "--state", state, "--print-public-key", "--health-listen", bad])
            #expect(status == 64, "\(bad): \(output)")
            #expect(output.contains("--health-listen must be IP:PORT"), "\(bad): \(output)")
        }
        #expect(!FileManager.default.fileExists(atPath: state), "nothing made for a refused command line")
    }

    @Test func aDisabledGatewayIsDegradedWithTheCoordinatorsReason() throws {
        let status = RemoteGatewayStatus()
        let now = ContinuousClock.now
        status.contact("https://co-b.test:8443", at: now)
        status.received(7, at: now)
        #expect(status.problems(now: now + .seconds(1)) == [], "a map received a moment ago may still be applying")
        #expect(status.problems(now: now + .seconds(4)).first?.hasPrefix("not converged: map version 7 received 4.0 s ago") == true)
        status.converged(7, problem: "gateway g1 is disabled at the coordinator; serving no peers")
        #expect(status.problems(now: now + .seconds(4)) == ["gateway g1 is disabled at the coordinator; serving no peers"])
        #expect(status.problems(now: now + .seconds(11)).last?.hasPrefix("no answer from a coordinator for 11.0 s") == true)
    }
}

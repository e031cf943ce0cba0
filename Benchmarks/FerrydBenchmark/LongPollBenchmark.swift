import FerryCore
import FerryServer
import FerrySystem
import FerryTestSupport
import Foundation
import GRDB
import WireGuard

/// `ferryd-bench longpoll [POLLERS...]`: how long after a change every waiting long poll
/// has its answer. A live ferryd (the release binary beside this one) on a store of
/// 10,000 peers; POLLERS raw connections each wait on a different peer's map; a change
/// that alters every map (the network's DNS, alternating); the time from sending the
/// change to each connection becoming readable. Several rounds per size.
func longPollBenchmark(sizes: [Int], rounds: Int) async throws {
    let here = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    let ferryd = here.appendingPathComponent("ferryd")
    guard FileManager.default.isExecutableFile(atPath: ferryd.path) else {
        print("build ferryd first: swift build -c release --product ferryd"); return
    }
    let needed = (sizes.max() ?? 0) + 200
    guard ServerLimits.raiseOpenFileLimit() >= needed else { print("needs an open-file limit of \(needed) (ulimit -n)"); return }
    // The store, filled in this process: 10,000 peers straight into the table.
    let (services, dir) = try await benchServices()
    defer { try? FileManager.default.removeItem(at: dir) }
    guard let admin = services.bootstrapSecret else { print("no admin token"); return }
    let segment = try await services.store.createSegment(CreateSegmentRequest(name: "bulk", ipv4: "10.1.0.0/16"), caller: .system("bench"))
    let peerCount = 10_000
    guard let database = services.database else { print("the benchmark fills a SQLite store"); return }
    try await database.write { db in
        let insert = try db.makeStatement(sql: """
            INSERT INTO peers (id, name, kind, owner, segment_id, ipv4, public_key, tunnel, mesh, enabled, created_at, updated_at, created_by)
            VALUES (?, ?, 'device', 'bench', ?, ?, ?, 'split', 0, 1, 1, 1, 'system:bench')
            """)
        for i in 0..<peerCount {
            try insert.execute(arguments: ["p_\(i)", "peer\(i)", segment.id, Int64(0x0A01_0001 + i), PrivateKey.generate().publicKey.base64])
        }
    }

    let port = Int.random(in: 20000...32000)
    let p = ChildProcess()
    p.executableURL = ferryd
    p.arguments = ["serve", "--data", dir.path, "--listen", "127.0.0.1:\(port)", "--log-level", "error",
                   "--max-long-polls", "20000", "--max-long-polls-per-token", "20000", "--write-rate", "0"]
    p.standardOutput = FileHandle.nullDevice
    p.standardError = FileHandle.nullDevice
    try p.run()
    defer { p.terminate(); p.waitUntilExit() }
    var up = false
    for _ in 0..<200 where !up {
        up = (try? RawHTTP.timed(port: port, "GET", "/health").0) == 200
        if !up { try await Task.sleep(for: .milliseconds(50)) }
    }
    guard up else { print("ferryd did not start"); return }

    /// One request on its own connection, its whole answer (small bodies only).
    func call(_ method: String, _ path: String, body: String? = nil) throws -> String {
        let fd = try RawHTTP.connect(port: port)
        defer { RawHTTP.close([fd]) }
        try RawHTTP.send(fd, RawHTTP.request(method, path, token: admin, body: body, close: true))
        var out = "", chunk = RawHTTP.read(fd)
        while !chunk.isEmpty { out += chunk; chunk = RawHTTP.read(fd, timeout: .seconds(2)) }
        return out
    }
    func version(_ response: String) -> Int64? {
        guard let r = response.range(of: "\"version\":") else { return nil }
        return Int64(response[r.upperBound...].prefix { $0 == "-" || $0.isNumber })
    }
    func waiting() throws -> Int {
        let text = try call("GET", "/metrics")
        return text.split(separator: "\n").first { $0.hasPrefix("ferry_long_polls ") }
            .flatMap { $0.split(separator: " ").last.flatMap { Double($0) } }.map { Int($0) } ?? -1
    }

    print("long-poll wake latency: \(peerCount) peers, each poller on its own peer's map and connection; ferryd \(ferryd.path)")
    var dns = 0
    for size in sizes {
        var versions = try (0..<size).map { i -> Int64 in
            guard let v = version(try call("GET", "/v1/peers/p_\(i)/netmap")) else { throw RawHTTP.Failure(description: "no map for p_\(i)") }
            return v
        }
        var all: [Double] = []
        for _ in 0..<rounds {
            let fds = try (0..<size).map { i -> Int32 in
                let fd = try RawHTTP.connect(port: port)
                try RawHTTP.send(fd, RawHTTP.request("GET", "/v1/peers/p_\(i)/netmap?since=\(versions[i])&wait=120", token: admin))
                return fd
            }
            defer { RawHTTP.close(fds) }
            var n = 0
            for _ in 0..<600 where n < size {
                try await Task.sleep(for: .milliseconds(50))
                n = try waiting()
            }
            guard n == size else { print("only \(n) of \(size) polls waiting"); return }
            dns += 1
            let t0 = ContinuousClock.now
            _ = try call("PATCH", "/v1/network", body: #"{"dns":["10.0.0.\#(dns % 200 + 1)"]}"#)
            let woke = RawHTTP.whenReadable(fds, timeout: .seconds(60))
            guard woke.count == size else { print("only \(woke.count) of \(size) polls answered within 60 s"); return }
            for (i, fd) in fds.enumerated() {
                guard let t = woke[fd], let v = version(RawHTTP.read(fd, timeout: .seconds(5))) else {
                    print("poll \(i): no new map"); return
                }
                versions[i] = v
                all.append(t.seconds(since: t0) * 1000)
            }
        }
        print(String(format: "  %5d pollers: p50 %7.1f ms   p99 %7.1f ms   max %7.1f ms   (%d rounds, %d answers)",
                     size, percentile(all, 0.5), percentile(all, 0.99), all.max() ?? 0, rounds, all.count))
    }
}

extension ContinuousClock.Instant {
    func seconds(since earlier: ContinuousClock.Instant) -> Double {
        let d = self - earlier
        return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }
}

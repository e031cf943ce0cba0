// ferryd control-plane benchmarks (not tests): `swift run -c release ferryd-bench [compile|api|longpoll|netmap]`.
//
//   compile  one peer's network map and the gateway's configuration with 10,000 peers:
//            from an in-memory topology, and including the SQLite load ferryd does per request
//   api      peer-creation requests per second and latency percentiles through a live
//            ferryd (the release binary beside this one), over loopback
//   longpoll long-poll wake latency (p50/p99) of 1,000 and 5,000 pollers at 10,000 peers,
//            through a live ferryd (the release binary beside this one)
//   netmap   one peer's network map right after a change at 10,000 peers: the topology
//            patched from the change log against a full load (NetmapBenchmark.swift)
import FerryCore
import FerryServer
import FerrySystem
import Foundation
import FoundationNetworking
import Logging
import WireGuard

func percentile(_ xs: [Double], _ p: Double) -> Double {
    let s = xs.sorted()
    guard !s.isEmpty else { return .nan }
    return s[min(s.count - 1, Int((Double(s.count - 1) * p).rounded()))]
}

func timeMs(_ body: () throws -> Void) rethrows -> Double {
    let start = ContinuousClock.now
    try body()
    let d = ContinuousClock.now - start
    return Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15
}

func report(_ name: String, _ samples: [Double]) {
    let name = name.padding(toLength: 64, withPad: " ", startingAt: 0)
    print(String(format: "%@ median %8.2f ms   p90 %8.2f ms   (n=%d)", name as NSString, percentile(samples, 0.5), percentile(samples, 0.9), samples.count))
}

/// 10,000 peers in 10 developer-like segments of a /16 each (network 10.0.0.0/8), two
/// gateways, a rule per segment to an internal subnet and a few segment-to-segment rules.
func bigTopology(peers: Int) -> Topology {
    let net = NetworkSettings(name: "bench", ipv4: IPPrefix("10.0.0.0/8")!, ipv6: IPPrefix("fd00:beef::/48")!)
    var segments = [Segment(id: "sg", name: "gateways", ipv4: IPPrefix("10.0.0.0/24")!)]
    for i in 1...10 { segments.append(Segment(id: "s\(i)", name: "seg\(i)", ipv4: IPPrefix("10.\(i).0.0/16")!)) }
    var list: [Peer] = [
        Peer(id: "gw1", name: "gw1", kind: .gateway, owner: "ops", segmentID: "sg", ipv4: IPv4Address(10, 0, 0, 1), publicKey: PrivateKey.generate().publicKey, createdAt: 1),
        Peer(id: "gw2", name: "gw2", kind: .gateway, owner: "ops", segmentID: "sg", ipv4: IPv4Address(10, 0, 0, 2), publicKey: PrivateKey.generate().publicKey, createdAt: 2),
    ]
    for n in 0..<peers {
        let seg = n % 10 + 1
        let host = n / 10 + 1
        var p = Peer(id: "p\(n)", name: "peer\(n)", kind: n % 7 == 0 ? .ci : .device, owner: "u\(n % 50)", segmentID: "s\(seg)",
                     ipv4: IPv4Address(10, UInt8(seg), UInt8(host >> 8), UInt8(host & 0xff)), publicKey: PrivateKey.generate().publicKey,
                     tunnel: n % 5 == 0 ? .full : .split, mesh: n % 3 == 0)
        if n % 7 == 0 { p.restrictTo = [IPPrefix("172.20.\(n % 200).0/24")!]; p.expiresAt = .max }
        if n % 3 == 0 { p.seenEndpoint = HostPort("198.51.100.\(n % 250 + 1):\(40000 + n % 1000)") }
        list.append(p)
    }
    var rules: [PolicyRule] = []
    for i in 1...10 { rules.append(PolicyRule(id: "r\(i)", from: "s\(i)", to: .subnet(IPPrefix("172.20.0.0/16")!))) }
    for i in 1...5 { rules.append(PolicyRule(id: "m\(i)", from: "s\(i)", to: .segment("s\(i + 5)"))) }
    return Topology(network: net, segments: segments, peers: list,
                    gateways: [Gateway(peerID: "gw1", endpoint: HostPort("gw1.example.com:51820")!, listenPort: 51820, subnets: [IPPrefix("172.20.0.0/16")!], masquerade: false),
                               Gateway(peerID: "gw2", endpoint: HostPort("gw2.example.com:51820")!, listenPort: 51820, subnets: [IPPrefix("172.21.0.0/16")!], masquerade: true)],
                    rules: rules)
}

func compileBenchmark() async throws {
    let n = 10_000
    let topology = bigTopology(peers: n)
    print("topology: \(n) peers in 10 segments, 2 gateways, \(topology.rules.count) rules; a third are mesh members")
    guard let meshPeer = topology.peers.first(where: { $0.id == "p3" }), let plainPeer = topology.peers.first(where: { $0.id == "p1" }) else { return }
    var mapPlain: [Double] = [], mapMesh: [Double] = [], gwConf: [Double] = [], gwNft: [Double] = [], gwMap: [Double] = []
    var sink = 0
    for _ in 0..<30 {
        mapPlain.append(timeMs { sink &+= PolicyCompiler(topology).networkMap(for: plainPeer, at: 0).peers.count })
        mapMesh.append(timeMs { sink &+= PolicyCompiler(topology).networkMap(for: meshPeer, at: 0).peers.count })
        gwConf.append(timeMs { sink &+= PolicyCompiler(topology).gatewayConfig(for: "gw1", interface: "wg0", at: 0)?.render().utf8.count ?? 0 })
        gwNft.append(timeMs { sink &+= NFTablesRenderer.render(PolicyCompiler(topology).firewall(ofGateway: "gw1", interface: "wg0", at: 0)).utf8.count })
        gwMap.append(timeMs { sink &+= PolicyCompiler(topology).networkMap(for: topology.peers[0], at: 0).peers.count })
    }
    report("network map, one split-tunnel peer (compile + map)", mapPlain)
    report("network map, one mesh peer (~1,100 mesh entries)", mapMesh)
    report("gateway wg-quick config, 10,000 peers (compile + render)", gwConf)
    report("gateway nftables ruleset (compile + render)", gwNft)
    report("gateway network map incl. nftables text", gwMap)

    // The same through the store: what a GET /v1/peers/{id}/netmap costs ferryd.
    var config = FerryConfiguration()
    config.logLevel = .critical
    config.initialIPv4 = IPPrefix("10.0.0.0/8")
    let services = try await buildServices(config)
    let store = services.store
    let system = Caller.system("bench")
    _ = try await store.createGateway(CreateGatewayRequest(name: "gw1", endpoint: "gw1.example.com:51820", subnets: ["172.20.0.0/16"],
                                                           publicKey: PrivateKey.generate().publicKey.base64), caller: system)
    for i in 1...10 { _ = try await store.createSegment(CreateSegmentRequest(name: "seg\(i)", ipv4: "10.\(i + 1).0.0/16"), caller: system) }
    for i in 1...10 { _ = try await store.createRule(CreatePolicyRuleRequest(from: "seg\(i)", toSubnet: "172.20.0.0/16"), caller: system) }
    var first = ""
    let fill = ContinuousClock.now
    for k in 0..<n {
        let p = try await store.createPeer(CreatePeerRequest(name: "p\(k)", segment: "seg\(k % 10 + 1)", publicKey: PrivateKey.generate().publicKey.base64,
                                                             mesh: k % 3 == 0), caller: system)
        if first.isEmpty { first = p.peer.id }
    }
    print("store: 10,000 peers created in-process in \(ContinuousClock.now - fill)")
    var cold: [Double] = [], warm: [Double] = []
    for i in 0..<20 {
        // A change (audited, like any other) makes the next read reload the topology.
        _ = try await store.updateNetwork(UpdateNetworkRequest(keepalive: 25 + i % 2), caller: system)
        let t0 = ContinuousClock.now
        sink &+= try await store.networkMap(peerID: first, caller: system).peers.count
        let d0 = ContinuousClock.now - t0
        cold.append(Double(d0.components.attoseconds) / 1e15 + Double(d0.components.seconds) * 1000)
        let t1 = ContinuousClock.now
        sink &+= try await store.networkMap(peerID: first, caller: system).peers.count
        let d1 = ContinuousClock.now - t1
        warm.append(Double(d1.components.attoseconds) / 1e15 + Double(d1.components.seconds) * 1000)
    }
    report("SQLite: mesh peer's map after a change (load 10,000 + compile)", cold)
    report("SQLite: mesh peer's map, topology cached (no change since)", warm)
    if sink == 42 { print("") }
}

func apiBenchmark(requests: Int, concurrency: Int) async throws {
    let here = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    let ferryd = here.appendingPathComponent("ferryd")
    guard FileManager.default.isExecutableFile(atPath: ferryd.path) else {
        print("build ferryd first: swift build -c release --product ferryd"); return
    }
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ferryd-bench-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: dir) }
    let port = Int.random(in: 30000...40000)
    let p = ChildProcess()
    p.executableURL = ferryd
    p.arguments = ["serve", "--data", dir.path, "--listen", "127.0.0.1:\(port)", "--log-level", "error", "--network", "10.0.0.0/8",
                   "--write-rate", "0"]
    let out = Pipe()
    p.standardOutput = out
    p.standardError = FileHandle.nullDevice
    try p.run()
    defer { p.terminate(); p.waitUntilExit() }
    var text = ""
    while !text.contains("listening") {
        let d = out.fileHandleForReading.availableData
        if d.isEmpty { break }
        text += String(decoding: d, as: UTF8.self)
    }
    guard let token = text.split(whereSeparator: { $0 == " " || $0 == "\n" }).first(where: { $0.hasPrefix("ferry_") }).map(String.init) else {
        print("no token"); return
    }
    let session = URLSession(configuration: .ephemeral)
    func post(_ path: String, _ json: String) async throws -> Int {
        var r = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
        r.httpMethod = "POST"
        r.httpBody = Data(json.utf8)
        r.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
        let (_, resp) = try await session.data(for: r)
        return (resp as? HTTPURLResponse)?.statusCode ?? 0
    }
    try await Task.sleep(for: .milliseconds(200))
    _ = try await post("/v1/segments", #"{"name":"load","ipv4":"10.1.0.0/16"}"#)
    let keys = (0..<requests).map { _ in PrivateKey.generate().publicKey.base64 }
    let start = ContinuousClock.now
    let latencies = try await withThrowingTaskGroup(of: [Double].self) { group in
        for w in 0..<concurrency {
            group.addTask {
                var lat: [Double] = []
                var i = w
                while i < requests {
                    let t0 = ContinuousClock.now
                    let status = try await post("/v1/peers", #"{"name":"p\#(i)","segment":"load","publicKey":"\#(keys[i])"}"#)
                    let d = ContinuousClock.now - t0
                    if status == 201 { lat.append(Double(d.components.attoseconds) / 1e15 + Double(d.components.seconds) * 1000) }
                    i += concurrency
                }
                return lat
            }
        }
        return try await group.reduce(into: [Double]()) { $0 += $1 }
    }
    let elapsed = ContinuousClock.now - start
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    print("POST /v1/peers over loopback: \(latencies.count)/\(requests) created, concurrency \(concurrency)")
    print(String(format: "  %.0f requests/s   p50 %.2f ms   p90 %.2f ms   p99 %.2f ms   max %.2f ms",
                 Double(latencies.count) / seconds, percentile(latencies, 0.5), percentile(latencies, 0.9), percentile(latencies, 0.99),
                 latencies.max() ?? 0))
}

let args = CommandLine.arguments.dropFirst()
switch args.first ?? "compile" {
case "compile": try await compileBenchmark()
case "api":
    let requests = Int(args.dropFirst().first ?? "2000") ?? 0, concurrency = Int(args.dropFirst(2).first ?? "8") ?? 0
    guard (1...1_000_000).contains(requests), (1...1024).contains(concurrency) else {
        print("ferryd-bench api: REQUESTS 1...1000000 and CONCURRENCY 1...1024")
        exit(64)
    }
    try await apiBenchmark(requests: requests, concurrency: concurrency)
case "longpoll":
    let sizes = args.dropFirst().compactMap { Int($0) }
    guard sizes.allSatisfy({ (1...20_000).contains($0) }) else { print("ferryd-bench longpoll: POLLERS 1...20000"); exit(64) }
    try await longPollBenchmark(sizes: sizes.isEmpty ? [1_000, 5_000] : sizes, rounds: 3)
case "netmap":
    let peers = Int(args.dropFirst().first ?? "10000") ?? 0, rounds = Int(args.dropFirst(2).first ?? "40") ?? 0
    guard (1...60_000).contains(peers), (1...10_000).contains(rounds) else { print("ferryd-bench netmap: PEERS 1...60000 and ROUNDS 1...10000"); exit(64) }
    try await netmapBenchmark(peerCount: peers, rounds: rounds)
default: print("usage: ferryd-bench [compile | api [REQUESTS [CONCURRENCY]] | longpoll [POLLERS...] | netmap [PEERS [ROUNDS]]]")
}

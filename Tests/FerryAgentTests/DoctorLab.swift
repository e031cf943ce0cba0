import Foundation
import FerryCore
import FerryTestSupport
import WireGuard
@testable import FerryAgent

/// Runs programs inside a network namespace (`ip netns exec NS …`).
struct NamespacedRunner: CommandRunner {
    let namespace: String
    func run(_ argv: [String], stdin: String?) async throws -> CommandResult {
        try await ProcessRunner().run(["ip", "netns", "exec", namespace] + argv, stdin: stdin)
    }
    func launch(_ argv: [String]) throws { try ProcessRunner().launch(["ip", "netns", "exec", namespace] + argv) }
}

/// The scratch-socket probe, opened inside the client's namespace.
struct NamespacedUDPProbe: UDPPortProbe {
    let namespace: NetworkNamespace
    let fwmark: UInt32
    func probe(_ endpoint: Endpoint, timeout: Duration) async -> UDPPortOutcome {
        let mark = fwmark
        return (try? namespace.withEntered { SystemUDPPortProbe.probeNow(endpoint, timeout: timeout, fwmark: mark) }) ?? .failed("setns")
    }
}

/// A gateway and a developer machine in namespaces this lab creates:
///
///     client (wg-quick, wireguard-go)  --veth 192.168.9.0/24--  gateway (ferryd --gateway, wireguard-go)
///
/// ferryd serves its API on the gateway's veth address; the developer enrols with an enrol
/// token, brings its rendered wg-quick config up, and `doctor()` runs the checklist as
/// `ferry doctor` does, inside the client's namespace.
final class DoctorLab: @unchecked Sendable {
    let gw: NetworkNamespace
    let client: NetworkNamespace
    let gatewayIF = uniqueName("fdg")
    let clientIF = uniqueName("fdc")
    /// The gateway's end of the veth (its MTU is the path's).
    let gatewayVeth: String
    let scratch: URL
    let ferryd: BackgroundProcess
    let base = "http://192.168.9.1:8080"
    let subnet = "172.31.9.0/24"
    var admin = ""
    var deviceToken = ""
    var peerID = ""
    var gatewayKey: PublicKey?

    static var ferrydBinary: URL {
        let beside = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return [beside, beside.deletingLastPathComponent(), root.appendingPathComponent(".build/debug")]
            .map { $0.appendingPathComponent("ferryd") }
            .first { FileManager.default.isExecutableFile(atPath: $0.path) } ?? root.appendingPathComponent(".build/debug/ferryd")
    }

    static let available: Bool = {
        guard RootEnvironment.available else { return false }
        let tools = ["wg", "wg-quick", "wireguard-go", "nft", "curl", "ping"]
        let missing = tools.filter { (try? run(["sh", "-c", "command -v \($0)"])) == nil }
        if !missing.isEmpty || !FileManager.default.isExecutableFile(atPath: ferrydBinary.path) {
            print("SKIPPED (missing \(missing + (missing.isEmpty ? ["ferryd binary"] : [])); run scripts/install-test-deps.sh): doctor end to end")
            return false
        }
        return true
    }()

    init() throws {
        gw = try NetworkNamespace(prefix: "fdgw")
        client = try NetworkNamespace(prefix: "fdcl")
        scratch = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("ferry-doctor-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let (c, g) = try client.link(to: gw, address: "192.168.9.2/24", peerAddress: "192.168.9.1/24")
        _ = c
        gatewayVeth = g
        ferryd = try gw.spawn([Self.ferrydBinary.path, "serve", "--data", scratch.appendingPathComponent("data").path,
                               "--listen", "192.168.9.1:8080", "--gateway", gatewayIF, "--gateway-name", "gw1", "--log-level", "warning"],
                              environment: ["WG_QUICK_USERSPACE_IMPLEMENTATION": "wireguard-go", "FERRY_WG_BACKEND": "uapi"])
        guard waitUntil(timeout: 30, { ferryd.output.contains("listening on") }),
              let token = ferryd.output.firstMatch(of: /ferry_[A-Za-z0-9_-]+/) else {
            throw CommandFailure(command: ["ferryd"], status: -1, output: ferryd.output)
        }
        admin = String(token.output)
        guard waitUntil(timeout: 30, { (try? self.gw.exec(["curl", "-sf", self.base + "/health"])) != nil }) else {
            throw CommandFailure(command: ["curl", base + "/health"], status: -1, output: ferryd.output)
        }
    }

    /// The network through the API, the developer enrolled and its tunnel up.
    func setUp() throws {
        try api(admin, "POST", "/v1/segments", #"{"name":"developers"}"#)
        try api(admin, "POST", "/v1/gateways", #"{"name":"gw1","endpoint":"192.168.9.1:51820","subnets":["\#(subnet)"]}"#)
        try api(admin, "POST", "/v1/policy/rules", #"{"from":"developers","toSubnet":"\#(subnet)"}"#)
        let enrol = try FerryJSON.decoder().decode(TokenCreated.self, from: try api(admin, "POST", "/v1/tokens",
            #"{"name":"alice-enrol","scope":"enroll","segment":"developers","owner":"alice","expiresInSeconds":600}"#))
        let key = try run(["wg", "genkey"]).trimmingCharacters(in: .whitespacesAndNewlines)
        let pub = try run(["wg", "pubkey"], input: key).trimmingCharacters(in: .whitespacesAndNewlines)
        let enrolled = try FerryJSON.decoder().decode(EnrollResponse.self, from: try api(enrol.secret, "POST", "/v1/enroll",
            #"{"name":"alice","publicKey":"\#(pub)"}"#))
        deviceToken = enrolled.deviceToken
        peerID = enrolled.peer.id
        gatewayKey = enrolled.netmap.peers.first.flatMap { try? PublicKey(base64: $0.publicKey) }
        var config = String(decoding: try api(deviceToken, "GET", "/v1/peers/\(peerID)/config"), as: UTF8.self)
        config = config.replacingOccurrences(of: #"(?m)^# PrivateKey = .*$"#, with: "PrivateKey = \(key)", options: .regularExpression)
        let file = scratch.appendingPathComponent("\(clientIF).conf")
        FileManager.default.createFile(atPath: file.path, contents: Data(config.utf8), attributes: [.posixPermissions: 0o600])
        // wireguard-go, which wg-quick leaves running, must not inherit our pipes, nor the
        // descriptor Foundation watches to learn that its child exited: close them all.
        let log = scratch.appendingPathComponent("wg-quick.log").path
        let closeAll = #"for f in /proc/$$/fd/*; do n=${f##*/}; [ "$n" -gt 2 ] && eval "exec $n>&-"; done"#
        do {
            try client.exec(["bash", "-c", closeAll + "; exec wg-quick up \"$0\" </dev/null >\"$1\" 2>&1", file.path, log],
                            environment: ["WG_QUICK_USERSPACE_IMPLEMENTATION": "wireguard-go"])
        } catch {
            throw CommandFailure(command: ["wg-quick", "up"], status: -1, output: (try? String(contentsOfFile: log, encoding: .utf8)) ?? "\(error)")
        }
        // The gateway takes the new peer from the store within a second; then a handshake.
        guard waitUntil(timeout: 15, { (try? self.client.exec(["ping", "-c", "1", "-W", "1", "10.10.0.1"])) != nil }) else {
            throw CommandFailure(command: ["ping", "10.10.0.1"], status: -1, output: (try? client.exec(["wg", "show"])) ?? "")
        }
        // The gateway's sync records the endpoint it saw (the NAT check reads it).
        _ = waitUntil(timeout: 5) {
            (try? FerryJSON.decoder().decode(PeerView.self, from: self.api(self.deviceToken, "GET", "/v1/peers/\(self.peerID)")))?.seenEndpoint != nil
        }
    }

    /// One API call with curl inside the gateway's namespace; the body on success.
    @discardableResult
    func api(_ token: String, _ method: String, _ path: String, _ body: String? = nil, from ns: NetworkNamespace? = nil) throws -> Data {
        var argv = ["curl", "-sS", "--fail-with-body", "-X", method, "-H", "Authorization: Bearer \(token)"]
        if let body { argv += ["-H", "Content-Type: application/json", "--data", body] }
        return Data(try (ns ?? gw).exec(argv + [base + path]).utf8)
    }

    /// The checklist over the client, as `ferry doctor` runs it.
    func doctor() async throws -> DoctorReport {
        let runner = NamespacedRunner(namespace: client.name)
        let system = SystemProbes(interface: clientIF, runner: runner)
        let local = try await system.localInterface()
        let map = try FerryJSON.decoder().decode(NetworkMap.self, from: try api(deviceToken, "GET", "/v1/peers/\(peerID)/netmap", from: client))
        let peer = try FerryJSON.decoder().decode(PeerView.self, from: try api(deviceToken, "GET", "/v1/peers/\(peerID)", from: client))
        let sent = Date()
        let headers = try client.exec(["curl", "-sS", "-D", "-", "-o", "/dev/null", base + "/health"])
        let received = Date()
        let date = headers.split(whereSeparator: \.isNewline).first { $0.lowercased().hasPrefix("date:") }
            .flatMap { ClockSample.parseHTTPDate(String($0.dropFirst(5))) }
        let inputs = DoctorInputs(local: local, coordinator: CoordinatorView(map: map, peer: peer), hostAddresses: try await system.hostAddresses(),
                                  clock: ClockSample(serverDate: date, sent: sent, received: received))
        let probes = DoctorProbeSet(reader: system, pinger: system, routes: system,
                                    udp: NamespacedUDPProbe(namespace: client, fwmark: local.device.fwmark))
        let results = await Doctor.checklist(inputs, probes: probes).run()
        let report = DoctorReport(interface: clientIF, peer: map.name, results: results)
        print(report.renderHuman())
        return report
    }

    /// The command in a fix's first pair of backticks, run in the client's namespace.
    func apply(_ fix: String) throws {
        guard let command = fix.firstMatch(of: /`([^`]+)`/)?.output.1 else {
            throw CommandFailure(command: ["apply"], status: -1, output: "no command in: \(fix)")
        }
        try client.exec(["sh", "-c", String(command)])
    }

    func close() {
        for ns in [client, gw] {
            let pids = ((try? run(["ip", "netns", "pids", ns.name])) ?? "").split(whereSeparator: \.isNewline)
            for pid in pids { _ = try? run(["kill", String(pid)]) }
        }
        ferryd.stop()
        client.close()
        gw.close()
        for name in [clientIF, gatewayIF] { try? FileManager.default.removeItem(atPath: "/var/run/wireguard/\(name).sock") }
        try? FileManager.default.removeItem(at: scratch)
    }
}

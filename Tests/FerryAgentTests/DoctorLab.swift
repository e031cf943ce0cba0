import Foundation
import FerryCore
import FerryTestSupport
import WireGuard
@testable import FerryAgent

/// A gateway and a developer machine in namespaces this lab creates:
///
///     client (ferry join, ferry up on ferry-wg)  --veth 192.168.9.0/24--  gateway (ferryd --gateway)
///
/// ferryd serves its API on the gateway's veth address and runs the gateway's WireGuard
/// (wireguard-go or ferry-wg); the developer enrols with `ferry join` and an enrolment
/// token, brings its interface up with `ferry up`, and `doctor()` runs `ferry doctor --json`
/// inside the client's namespace.
final class DoctorLab: @unchecked Sendable {
    let gw: NetworkNamespace
    let client: NetworkNamespace
    let gatewayIF = uniqueName("fdg")
    let clientIF = uniqueName("fdc")
    /// The gateway's end of the veth (its MTU is the path's).
    let gatewayVeth: String
    let scratch: URL
    var stateDir: String { scratch.appendingPathComponent("state").path }
    let ferryd: BackgroundProcess
    var agent: BackgroundProcess?
    let base = "http://192.168.9.1:8080"
    let subnet = "172.31.9.0/24"
    var admin = ""
    var peerID = ""
    var gatewayKey: PublicKey?

    static let ferry = BuiltProducts.executable("ferry").path

    static let available: Bool = {
        guard RootEnvironment.available else { return false }
        let missing = ["wg", "wireguard-go", "nft", "curl", "ping"].filter { (try? run(["sh", "-c", "command -v \($0)"])) == nil }
            + ["ferryd", "ferry", "ferry-wg"].filter { !FileManager.default.isExecutableFile(atPath: BuiltProducts.executable($0).path) }
        if !missing.isEmpty {
            print("SKIPPED (missing \(missing.joined(separator: ", ")); run scripts/install-test-deps.sh and build first): doctor end to end")
            return false
        }
        return true
    }()

    /// `gatewayWG`: the userspace WireGuard ferryd starts for the gateway interface.
    init(gatewayWG: String) throws {
        gw = try NetworkNamespace(prefix: "fdgw")
        client = try NetworkNamespace(prefix: "fdcl")
        scratch = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("ferry-doctor-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        gatewayVeth = try client.link(to: gw, address: "192.168.9.2/24", peerAddress: "192.168.9.1/24").1
        let wg = gatewayWG == "ferry-wg" ? BuiltProducts.executable("ferry-wg").path : gatewayWG
        ferryd = try gw.spawn([BuiltProducts.executable("ferryd").path, "serve", "--data", scratch.appendingPathComponent("data").path,
                               "--listen", "192.168.9.1:8080", "--gateway", gatewayIF, "--gateway-name", "gw1", "--log-level", "warning"],
                              environment: ["WG_QUICK_USERSPACE_IMPLEMENTATION": wg, "FERRY_WG_BACKEND": "uapi"])
        guard waitUntil(timeout: 30, { ferryd.output.contains("listening on") }),
              let token = ferryd.output.firstMatch(of: /ferry_[A-Za-z0-9_-]+/) else {
            throw CommandFailure(command: ["ferryd"], status: -1, output: ferryd.output)
        }
        admin = String(token.output)
        guard waitUntil(timeout: 30, { (try? self.gw.exec(["curl", "-sf", self.base + "/health"])) != nil }) else {
            throw CommandFailure(command: ["curl", base + "/health"], status: -1, output: ferryd.output)
        }
    }

    /// The network through the API; the developer joins and comes up; a first handshake.
    func setUp() throws {
        try api("POST", "/v1/segments", #"{"name":"developers"}"#)
        try api("POST", "/v1/gateways", #"{"name":"gw1","endpoint":"192.168.9.1:51820","subnets":["\#(subnet)"]}"#)
        try api("POST", "/v1/policy/rules", #"{"from":"developers","toSubnet":"\#(subnet)"}"#)
        let enrol = try FerryJSON.decoder().decode(TokenCreated.self, from: try api("POST", "/v1/tokens",
            #"{"name":"alice-enrol","scope":"enroll","segment":"developers","owner":"alice","expiresInSeconds":600}"#))
        try ferry(["join", base, "--token", enrol.secret, "--name", "alice", "--interface", clientIF, "--insecure-http"])
        let state = try StateDirectory(path: stateDir).load()
        peerID = state.peerID
        gatewayKey = StateDirectory(path: stateDir).loadNetmap()?.peers.first.flatMap { try? PublicKey(base64: $0.publicKey) }
        agent = try client.spawn([Self.ferry, "up", "--state", stateDir])
        // The gateway takes the new peer from the store within a second; then a handshake.
        guard waitUntil(timeout: 20, { (try? self.client.exec(["ping", "-c", "1", "-W", "1", "10.10.0.1"])) != nil }) else {
            throw CommandFailure(command: ["ping", "10.10.0.1"], status: -1, output: (agent?.output ?? "") + ((try? client.exec(["wg", "show"])) ?? ""))
        }
        // The gateway's sync records the endpoint it saw (the NAT check reads it).
        _ = waitUntil(timeout: 5) {
            (try? FerryJSON.decoder().decode(PeerView.self, from: self.api("GET", "/v1/peers/\(self.peerID)")))?.seenEndpoint != nil
        }
    }

    /// One admin API call with curl inside the gateway's namespace; the body on success.
    @discardableResult
    func api(_ method: String, _ path: String, _ body: String? = nil) throws -> Data {
        var argv = ["curl", "-sS", "--fail-with-body", "-X", method, "-H", "Authorization: Bearer \(admin)"]
        if let body { argv += ["-H", "Content-Type: application/json", "--data", body] }
        return Data(try gw.exec(argv + [base + path]).utf8)
    }

    /// `ferry ARGS --state DIR` in the client's namespace; throws unless it exits 0.
    @discardableResult
    func ferry(_ args: [String]) throws -> String {
        let r = try BuiltProducts.run("/usr/bin/env", ["ip", "netns", "exec", client.name, Self.ferry] + args + ["--state", stateDir])
        guard r.status == 0 else { throw CommandFailure(command: ["ferry"] + args, status: r.status, output: r.stdout + r.stderr) }
        return r.stdout
    }

    /// `ferry doctor --json` in the client's namespace: its report and exit code.
    func doctor() throws -> (report: DoctorReport, status: Int32) {
        let r = try BuiltProducts.run("/usr/bin/env", ["ip", "netns", "exec", client.name, Self.ferry, "doctor", "--json", "--state", stateDir])
        guard let report = try? FerryJSON.decoder().decode(DoctorReport.self, from: Data(r.stdout.utf8)) else {
            throw CommandFailure(command: ["ferry", "doctor", "--json"], status: r.status, output: r.stdout + r.stderr)
        }
        print(report.renderHuman())
        return (report, r.status)
    }

    /// `ferry doctor` as people read it: its output and exit code.
    func doctorText() throws -> (String, Int32) {
        let r = try BuiltProducts.run("/usr/bin/env", ["ip", "netns", "exec", client.name, Self.ferry, "doctor", "--state", stateDir])
        return (r.stdout, r.status)
    }

    /// The command in a fix's first pair of backticks, run in the client's namespace.
    func apply(_ fix: String) throws {
        guard let command = fix.firstMatch(of: /`([^`]+)`/)?.output.1 else {
            throw CommandFailure(command: ["apply"], status: -1, output: "no command in: \(fix)")
        }
        try client.exec(["sh", "-c", String(command)])
    }

    func close() {
        // ferry up, ferry-wg and wireguard-go first: the daemons hold descriptors that the
        // processes the tests started wait on.
        for ns in [client, gw] {
            let pids = ((try? run(["ip", "netns", "pids", ns.name])) ?? "").split(whereSeparator: \.isNewline)
            for pid in pids { _ = try? run(["kill", String(pid)]) }
        }
        agent?.stop()
        ferryd.stop()
        client.close()
        gw.close()
        for name in [clientIF, gatewayIF] { try? FileManager.default.removeItem(atPath: "/var/run/wireguard/\(name).sock") }
        try? FileManager.default.removeItem(at: scratch)
    }
}

@testable import FerryAgent
@testable import FerryCore
import Foundation
import Testing
import WireGuard

@Suite("State folder and interface plan")
struct StateTests {
    func temporary() throws -> StateDirectory {
        StateDirectory(path: FileManager.default.temporaryDirectory.appendingPathComponent("ferry-state-\(UUID().uuidString.prefix(8))").path)
    }

    func mode(_ path: String) throws -> Int? { try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int }

    static func map(enabled: Bool = true) -> NetworkMap {
        let gw = PrivateKey.generate().publicKey.base64, mesh = PrivateKey.generate().publicKey.base64
        return NetworkMap(
            version: 42, peerID: "p_me", name: "me", enabled: enabled, expiresAt: nil,
            interface: .init(addresses: ["10.10.1.5/32", "fd00:1::105/128"], dns: [], mtu: 1380, listenPort: nil),
            peers: [
                .init(id: "gw_1", name: "gw1", role: "gateway", publicKey: gw, endpoint: "gw.test:51820",
                      allowedIPs: ["10.10.0.1/32", "172.20.0.0/24", "0.0.0.0/0"], persistentKeepalive: 25),
                .init(id: "p_2", name: "peer2", role: "mesh", publicKey: mesh, endpoint: "192.0.2.7:41000",
                      allowedIPs: ["10.10.1.6/32", "172.20.0.0/24"], persistentKeepalive: nil, inbound: true, outbound: false),
            ],
            gateway: nil)
    }

    @Test func enrolmentIsWrittenWithTightModesAndReadsBack() throws {
        let dir = try temporary()
        defer { try? FileManager.default.removeItem(atPath: dir.path) }
        let key = PrivateKey.generate()
        let s = AgentState(coordinator: "https://c:1", fingerprint: nil, peerID: "p_x", name: "x", interface: "ferry0",
                           deviceToken: "ferry_t", enrolledAt: Date(timeIntervalSince1970: 1_700_000_000))
        let map = Self.map()
        try dir.saveEnrolment(s, privateKey: key, certificatePEM: nil, netmap: map)
        #expect(try mode(dir.path) == 0o700)
        for f in [dir.stateFile, dir.keyFile, dir.netmapFile] { #expect(try mode(f) == 0o600) }
        #expect(try dir.load() == s)
        #expect(try dir.loadPrivateKey() == key)
        #expect(dir.loadNetmap() == map)
        // No temporary files are left behind.
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() == ["netmap.json", "private.key", "state.json"])
    }

    @Test func atomicWriteReplacesWholeFilesAndKeepsTheMode() throws {
        let dir = try temporary()
        try AtomicFile.makeDirectory(dir.path)
        defer { try? FileManager.default.removeItem(atPath: dir.path) }
        let f = dir.file("x")
        try AtomicFile.write("first", to: f)
        try AtomicFile.write("second", to: f, mode: 0o640)
        #expect(try String(contentsOfFile: f, encoding: .utf8) == "second")
        #expect(try mode(f) == 0o640)
        #expect(throws: FerryError.self) { try AtomicFile.write("x", to: dir.file("missing/folder/x")) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["x"])
    }

    /// `-o key` (a bare file name) lands in the current folder, not in `/`.
    @Test func atomicWriteOfABareFileName() throws {
        let dir = try temporary()
        try AtomicFile.makeDirectory(dir.path)
        defer { try? FileManager.default.removeItem(atPath: dir.path) }
        let previous = FileManager.default.currentDirectoryPath
        #expect(FileManager.default.changeCurrentDirectoryPath(dir.path))
        defer { _ = FileManager.default.changeCurrentDirectoryPath(previous) }
        try AtomicFile.write("bare", to: "key")
        #expect(try String(contentsOfFile: dir.file("key"), encoding: .utf8) == "bare")
        #expect(try mode(dir.file("key")) == 0o600)
    }

    /// A state file whose interface name could not be a kernel name (or would break out of
    /// the quotes of an nft rule) is refused like any other corruption.
    @Test func aStateFileWithABadInterfaceNameIsCorrupt() throws {
        let dir = try temporary()
        defer { try? FileManager.default.removeItem(atPath: dir.path) }
        for bad in ["", "a/b", "x\" y", "sixteen-chars-xx", "..", "has space"] {
            let s = AgentState(coordinator: "https://c:1", fingerprint: nil, peerID: "p_x", name: "x", interface: bad,
                               deviceToken: "ferry_t", enrolledAt: Date(timeIntervalSince1970: 1_700_000_000))
            try dir.saveEnrolment(s, privateKey: PrivateKey.generate(), certificatePEM: nil, netmap: Self.map())
            #expect(throws: FerryError.self, "\(bad)") { try dir.load() }
        }
    }

    @Test func hostsThatAreAddresses() {
        for host in ["127.0.0.1", "::1", "[::1]", "fd00::5", "10.1.2.3"] { #expect(IPAddressText.isLiteral(host), "\(host)") }
        for host in ["gw.example.com", "999.1.1.1", "1.2.3", "localhost", ""] { #expect(!IPAddressText.isLiteral(host), "\(host)") }
    }

    @Test func stateFolderResolution() {
        #expect(StateDirectory.resolve("/a", environment: ["FERRY_STATE": "/b"]).path == "/a")
        #expect(StateDirectory.resolve(nil, environment: ["FERRY_STATE": "/b"]).path == "/b")
        #expect(StateDirectory.resolve(nil, environment: [:]).path == "/var/lib/ferry")
    }

    @Test func mapBecomesAPlan() throws {
        let key = PrivateKey.generate()
        let plan = InterfacePlan.make(Self.map(), privateKey: key, listenPort: 5000) { host in
            host == "gw.test" ? IPAddress("192.0.2.1") : nil
        }
        #expect(plan.config.interface.privateKey == key && plan.config.interface.listenPort == 5000)
        #expect(plan.addresses.map(\.description) == ["10.10.1.5/32", "fd00:1::105/128"])
        #expect(plan.mtu == 1380)
        #expect(plan.config.peers.count == 2)
        #expect(plan.config.peers[0].endpoint?.description == "192.0.2.1:51820", "names resolved before the UAPI")
        #expect(plan.config.peers[0].persistentKeepalive == 25)
        // Each prefix routed once; the default route left to policy routing.
        #expect(plan.routes.map(\.description) == ["10.10.0.1/32", "172.20.0.0/24", "10.10.1.6/32"])
        #expect(plan.defaultRoutes.map(\.description) == ["0.0.0.0/0"])
        #expect(plan.config.interface.fwMark == InterfacePlan.fullTunnelMark, "a full tunnel marks its own packets")
        let unresolved = InterfacePlan.make(Self.map(), privateKey: key, listenPort: nil) { _ in nil }
        #expect(unresolved.config.peers[0].endpoint == nil && unresolved.unresolved == ["gw1 (gw.test)"])
        // A disabled map means no peers and no routes.
        let off = InterfacePlan.make(Self.map(enabled: false), privateKey: key, listenPort: nil) { _ in nil }
        #expect(off.config.peers.isEmpty && off.routes.isEmpty && off.addresses.count == 2)
    }

    @Test func fingerprintsAreNormalized() {
        let hex = String(repeating: "ab", count: 32)
        let canonical = String(repeating: "AB:", count: 31) + "AB"
        #expect(CertificatePin.normalize(hex) == canonical)
        #expect(CertificatePin.normalize(canonical.lowercased()) == canonical)
        #expect(CertificatePin.normalize("sha256 Fingerprint=" + canonical) == canonical)
        #expect(CertificatePin.normalize("SHA256:" + hex) == canonical)
        #expect(CertificatePin.normalize("AB:CD") == nil)
        #expect(CertificatePin.normalize(String(repeating: "zz", count: 32)) == nil)
    }

    @Test func tables() {
        var t = Table("NAME", "ID")
        t.add("alpha", "p_1")
        t.add("b", nil)
        #expect(t.render() == "NAME   ID\nalpha  p_1\nb      -")
        #expect(DurationText.format(seconds: 3725) == "1h 2m")
        #expect(DurationText.format(seconds: 20) == "20s")
        #expect(DurationText.milliseconds("20s") == 20000 && DurationText.milliseconds("x") == nil)
    }
}

@Suite("Mesh directions on the device")
struct MeshFirewallTests {
    @Test func onlyRestrictedDirectionsAreDropped() throws {
        var map = StateTests.map()
        // peer2 may connect to us (inbound) but we may not connect to it (outbound false).
        #expect(MeshFirewall.render(interface: "ferry0", map: map).map { rules in
            rules.contains("iifname \"ferry0\"") == false
                && rules.contains("oifname \"ferry0\" ip daddr { 10.10.1.6/32, 172.20.0.0/24 } ct state new counter drop")
        } == true)
        map.peers[1].outbound = true
        #expect(MeshFirewall.render(interface: "ferry0", map: map) == nil, "nothing restricted: no table")
        map.peers[1].inbound = nil
        let rules = try #require(MeshFirewall.render(interface: "ferry0", map: map))
        #expect(rules.contains("iifname \"ferry0\" ip saddr { 10.10.1.6/32, 172.20.0.0/24 } ct state new counter drop"))
        #expect(!rules.contains("oifname \"ferry0\" ip"))
        // The gateway's entry never counts: the gateway's own firewall decides there.
        #expect(!rules.contains("10.10.0.1"))
        map.enabled = false
        #expect(MeshFirewall.render(interface: "ferry0", map: map) == nil)
    }

    static let canCheck = getuid() == 0 && (try? CLI.tool(["nft", "--version"]).status) == 0

    @Test(.enabled(if: canCheck, "needs root and nft")) func nftAcceptsTheRuleset() throws {
        var map = StateTests.map()
        map.peers[1].allowedIPs.append("fd00:1::106/128")
        let rules = try #require(MeshFirewall.render(interface: "ferry0", map: map))
        let r = try CLI.tool(["nft", "-c", "-f", "-"], input: rules)
        #expect(r.status == 0, "\(r.stderr)\n\(rules)")
    }
}

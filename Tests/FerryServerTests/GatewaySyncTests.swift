import FerryCore
@testable import FerryServer
import Foundation
import Logging
import Synchronization
import Testing
import WireGuard

/// Records what the gateway sync would apply (the real controllers run in the
/// namespace end-to-end test).
final class RecordingInterface: InterfaceController, FirewallController {
    let name = "wgtest0"
    let configs = Mutex<[WGQuickConfig]>([])
    let rulesets = Mutex<[String]>([])
    func ensureUp(addresses: [IPPrefix], mtu: Int) async throws {}
    func apply(_ config: WGQuickConfig) async throws { configs.withLock { $0.append(config) } }
    func status() async throws -> [InterfacePeerStatus] { [] }
    func apply(nftables: String) async throws { rulesets.withLock { $0.append(nftables) } }
    func remove(interface: String) async throws {}
    func live(interface: String) async throws -> String? { rulesets.withLock { $0.last } }
    func guardForwarding(interface: String) async throws {}
    var last: WGQuickConfig? { configs.withLock { $0.last } }
    var lastRules: String { rulesets.withLock { $0.last ?? "" } }
}

@Suite("Gateway sync")
struct GatewaySyncTests {
    /// In this process the sync shares two cooperative threads with every other suite
    /// running in parallel, some of them CPU-bound for seconds; so here it only has to
    /// happen (within `within`). The one-second bound is asserted against the real ferryd
    /// process in scripts/e2e/gateway.sh. (10 s was once exceeded, 11 s, in a full
    /// parallel run on two cores.)
    static let bound: Duration = .seconds(60)

    func eventually(within: Duration = GatewaySyncTests.bound, _ condition: () -> Bool) async throws -> Duration {
        let start = ContinuousClock.now
        while ContinuousClock.now - start < within + .milliseconds(500) {
            if condition() { return ContinuousClock.now - start }
            try await Task.sleep(for: .milliseconds(10))
        }
        return ContinuousClock.now - start
    }

    /// Created, disabled and deleted peers reach the interface and firewall; the gateway's
    /// own key comes from its key file and follows a rotation.
    @Test func changesReachTheInterfaceAndFirewall() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ferry-sync-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let fake = RecordingInterface()
        let h = try await Harness.make(data: dir, clock: ManualClock(now: SystemClock().now())) {
            $0.gatewayInterface = "wgtest0"
            $0.gatewayName = "gw-local"
        }
        let keys = try #require(h.services.localGateway)
        let attrs = try FileManager.default.attributesOfItem(atPath: dir.appendingPathComponent("gateway-wgtest0.key").path)
        #expect((attrs[.posixPermissions] as? Int) == 0o600)
        let sync = GatewaySync(store: h.store, keys: keys, interface: fake, firewall: fake, clock: h.clock, metrics: h.services.metrics,
                               logger: Logger(label: "test"))
        let task = Task { try await sync.run() }
        defer { task.cancel() }
        let system = Caller.system("t")
        _ = try await h.store.createSegment(CreateSegmentRequest(name: "developers"), caller: system)
        let gw = try await h.store.createGateway(CreateGatewayRequest(name: "gw-local", endpoint: "203.0.113.1:51820", subnets: ["172.20.0.0/24"]), caller: system)
        #expect(gw.local && gw.publicKey == keys.publicKey.base64)
        _ = try await h.store.createRule(CreatePolicyRuleRequest(from: "developers", toSubnet: "172.20.0.0/24"), caller: system)

        let key = newPublicKey()
        let p = try await h.store.createPeer(CreatePeerRequest(name: "laptop", segment: "developers", publicKey: key), caller: system).peer
        let t1 = try await eventually { fake.last?.peers.contains { $0.publicKey.base64 == key } == true }
        #expect(t1 < Self.bound, "create applied after \(t1)")
        #expect(fake.last?.interface.privateKey == keys.privateKey)
        #expect(fake.lastRules.contains("ip saddr 10.10.1.0/24 ip daddr 172.20.0.0/24 accept"))

        _ = try await h.store.updatePeer(id: p.id, UpdatePeerRequest(enabled: false), caller: system)
        let t2 = try await eventually { fake.last?.peers.isEmpty == true }
        #expect(t2 < Self.bound, "disable applied after \(t2)")

        _ = try await h.store.updatePeer(id: p.id, UpdatePeerRequest(enabled: true), caller: system)
        _ = try await eventually { fake.last?.peers.count == 1 }
        try await h.store.deletePeer(id: p.id, caller: system)
        let t3 = try await eventually { fake.last?.peers.isEmpty == true }
        #expect(t3 < Self.bound, "delete applied after \(t3)")

        _ = try await h.store.rotateKey(peerID: gw.id, RotateKeyRequest(), caller: system)
        #expect(keys.publicKey.base64 != gw.publicKey)
        let t4 = try await eventually { fake.last?.interface.privateKey == keys.privateKey }
        #expect(t4 < Self.bound)
        #expect(try await h.store.gateway(id: gw.id).publicKey == keys.publicKey.base64)
    }
}

@Suite("Gateway key rotation on a cadence")
struct KeyRotationTests {
    /// With a 1-hour cadence checked every minute of virtual time: no rotation before the
    /// hour, one after it, audited as system:key-rotation; the key file holds the new key.
    @Test func rotatesWhenDue() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ferry-rot-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let h = try await Harness.make(data: dir) { $0.gatewayInterface = "wgrot0"; $0.gatewayName = "gw" }
        let keys = try #require(h.services.localGateway)
        let gw = try await h.store.createGateway(CreateGatewayRequest(name: "gw", endpoint: "203.0.113.1:51820"), caller: .system("t"))
        let first = keys.publicKey
        let service = KeyRotationService(store: h.store, clock: h.clock, cadenceSeconds: 3600, checkMs: 60_000, logger: Logger(label: "t"))
        let task = Task { try await service.run() }
        defer { task.cancel() }
        func settle() async throws {
            for _ in 0..<30_000 where h.clock.sleeperCount == 0 { try await Task.sleep(for: .milliseconds(1)) }
        }
        try await settle()
        for _ in 0..<59 {
            h.clock.advance(by: 60_000)
            try await settle()
        }
        #expect(keys.publicKey == first, "rotated before the cadence")
        h.clock.advance(by: 61_000)
        try await settle()
        #expect(keys.publicKey != first)
        #expect(try await h.store.gateway(id: gw.id).publicKey == keys.publicKey.base64)
        let text = try String(contentsOf: dir.appendingPathComponent("gateway-wgrot0.key"), encoding: .utf8)
        #expect(try PrivateKey(base64: text.trimmingCharacters(in: .whitespacesAndNewlines)).publicKey == keys.publicKey)
        #expect(try await h.store.audit(.init(actor: "system:key-rotation")).map(\.action) == ["gateway.rotate-key"])
    }
}

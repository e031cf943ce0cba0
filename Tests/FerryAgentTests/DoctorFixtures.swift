import Foundation
import FerryCore
import WireGuard
@testable import FerryAgent

/// A developer peer `alice` with one gateway `gw1`, as the coordinator and the interface see
/// them when everything agrees; tests break one thing at a time.
struct DoctorFixture {
    let me = PrivateKey.generate()
    let gateway = PrivateKey.generate().publicKey
    let gatewayAllowed = ["10.10.0.1/32", "fd10::1/128", "172.20.0.0/24"]
    var local: InterfaceSnapshot
    var coordinator: CoordinatorView

    init() {
        let gwPeer = UAPIPeerStatus(publicKey: gateway, endpoint: Endpoint("192.168.77.1:51820"), lastHandshakeTimeSec: 1_700_000_000,
                                    txBytes: 1000, rxBytes: 2000, persistentKeepaliveInterval: 25,
                                    allowedIPs: ["172.20.0.0/24", "10.10.0.1/32", "fd10::1/128"].compactMap { IPPrefix($0) })
        local = InterfaceSnapshot(name: "wgtest0", device: UAPIDeviceStatus(privateKey: me, listenPort: 40000, peers: [gwPeer]),
                               addresses: ["10.10.1.5/32", "fd10::105/128"].compactMap { IPPrefix($0) }, mtu: 1420)
        let mapJSON = """
            {"version":1,"peerID":"p_alice","name":"alice","enabled":true,
             "interface":{"addresses":["10.10.1.5/32","fd10::105/128"],"dns":[],"mtu":1420},
             "peers":[{"id":"p_gw","name":"gw1","role":"gateway","publicKey":"\(gateway.base64)","endpoint":"192.168.77.1:51820",
                       "allowedIPs":["10.10.0.1/32","fd10::1/128","172.20.0.0/24"],"persistentKeepalive":25}]}
            """
        // A constant of this file: it decodes or the fixture is wrong.
        let map = try! FerryJSON.decoder().decode(NetworkMap.self, from: Data(mapJSON.utf8))
        let now = Date(timeIntervalSince1970: 1_700_000_000)
        let view = PeerView(id: "p_alice", name: "alice", kind: "device", owner: "alice", segment: "developers", ipv4: "10.10.1.5",
                            publicKey: me.publicKey.base64, tunnel: "split", mesh: false, enabled: true, ephemeral: false,
                            createdAt: now, updatedAt: now, createdBy: "token:t1", seenEndpoint: "192.168.71.2:40000")
        coordinator = CoordinatorView(map: map, peer: view)
    }

    var gatewayPeer: UAPIPeerStatus {
        get { local.device.peers[0] }
        set { local.device.peers[0] = newValue }
    }
}

/// Replays interface states: the first `read()` gets the first, and so on; the last repeats.
final class ScriptedReader: InterfaceReader, @unchecked Sendable {
    private let lock = NSLock()
    private var states: [UAPIDeviceStatus]
    private(set) var reads = 0

    init(_ states: [UAPIDeviceStatus]) { self.states = states }

    func read() async throws -> UAPIDeviceStatus {
        lock.withLock {
            reads += 1
            return states.count > 1 ? states.removeFirst() : states[0]
        }
    }
}

/// Answers pings by a rule; records the sizes asked.
final class RulePinger: TunnelPinger, @unchecked Sendable {
    private let lock = NSLock()
    private let rule: @Sendable (IPAddress, Int) -> PingOutcome
    private(set) var sizes: [Int] = []

    init(_ rule: @escaping @Sendable (IPAddress, Int) -> PingOutcome) { self.rule = rule }

    func ping(_ target: IPAddress, packetSize: Int, interface: String, timeout: Duration) async -> PingOutcome {
        lock.withLock { sizes.append(packetSize) }
        return rule(target, packetSize)
    }

    /// A path that carries IP packets up to `limit` bytes through the tunnel.
    static func path(carrying limit: Int) -> RulePinger { RulePinger { _, size in size <= limit ? .reply : .noReply } }
}

struct TableRoutes: RouteLookup {
    var table: [IPAddress: RouteInfo]
    var fallback: RouteInfo?

    func route(to address: IPAddress) async throws -> RouteInfo {
        if let r = table[address] ?? fallback { return r }
        throw NoRoute()
    }
}

struct NoRoute: Error, CustomStringConvertible {
    var description: String { "RTNETLINK answers: No route to host" }
}

struct FixedUDP: UDPPortProbe {
    var outcome: UDPPortOutcome
    func probe(_ endpoint: Endpoint, timeout: Duration) async -> UDPPortOutcome { outcome }
}

struct NoSleep: DoctorSleeper {
    func sleep(_ duration: Duration) async {}
}

extension Array where Element == String {
    var prefixes: [IPPrefix] { compactMap { IPPrefix($0) } }
}

/// True the first time only.
final class Once: @unchecked Sendable {
    private let lock = NSLock()
    private var done = false

    func first() -> Bool {
        lock.lock(); defer { lock.unlock() }
        defer { done = true }
        return !done
    }
}

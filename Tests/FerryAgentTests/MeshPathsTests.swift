@testable import FerryAgent
@testable import FerryCore
import Foundation
import Testing
import WireGuard

/// The mesh path decisions (docs/mesh.md), on a clock the test moves: probing through the
/// gateway first, direct on a fresh handshake, relayed after `relayAfter`, candidates in
/// turn every `probeInterval`, back to probing when the direct path goes quiet.
@Suite struct MeshPathsTests {
    static let key: PublicKey = {
        var g = SystemRandomNumberGenerator()
        return PrivateKey.generate(using: &g).publicKey
    }()
    static let start = ContinuousClock.now
    static let wall = Date(timeIntervalSince1970: 1_800_000_000)

    static func entry(candidates: [String]? = ["198.51.100.7:40000", "198.51.100.7:51820", "172.17.1.2:51820"],
                      keepalive: Int? = 25) -> NetworkMap.Entry {
        NetworkMap.Entry(id: "peer_b", name: "builder", role: "mesh", publicKey: key.base64, endpoint: candidates?.first,
                         allowedIPs: ["10.10.1.2/32"], persistentKeepalive: keepalive, inbound: true, outbound: true,
                         inboundPorts: nil, outboundPorts: nil, candidates: candidates)
    }

    static func live(handshake: Int64, rx: Int64 = 0, endpoint: String? = nil) -> [String: InterfacePeerStatus] {
        [key.base64: InterfacePeerStatus(publicKey: key, endpoint: endpoint.flatMap { HostPort($0) }, allowedIPs: [],
                                          latestHandshake: handshake, rxBytes: rx, txBytes: 0)]
    }

    func at(_ seconds: Double) -> (ContinuousClock.Instant, Date) {
        (Self.start + .milliseconds(Int64(seconds * 1000)), Self.wall.addingTimeInterval(seconds))
    }

    @Test func probesThroughTheGatewayThenRelayedCyclingCandidates() {
        var m = MeshPaths()
        var (now, wall) = at(0)
        var step = m.step([Self.entry()], live: Self.live(handshake: 0), now: now, wall: wall)
        let key = Self.key.base64
        // Through the gateway at once; the first round after `firstProbeDelay`.
        #expect(step.probe.isEmpty)
        #expect(step.settings[key] == .init(endpoint: HostPort("198.51.100.7:40000"), direct: false, keepalive: 0),
                "keepalive off until the first round: turning it on is what sends the first initiation")
        #expect(m.paths.first?.state == .probing)
        (now, wall) = at(1)
        step = m.step([Self.entry()], live: Self.live(handshake: 0), now: now, wall: wall)
        #expect(step.probe == [key] && step.settings[key] == .init(endpoint: HostPort("198.51.100.7:40000"), direct: false, keepalive: 25))
        // Within the probe interval: no new round, same candidate.
        (now, wall) = at(3)
        step = m.step([Self.entry()], live: Self.live(handshake: 0), now: now, wall: wall)
        #expect(step.probe.isEmpty && step.settings[key]?.endpoint == HostPort("198.51.100.7:40000"))
        (now, wall) = at(4.5)
        step = m.step([Self.entry()], live: Self.live(handshake: 0), now: now, wall: wall)
        #expect(m.paths.first?.state == .relayed)
        #expect(m.paths.first?.since == Self.wall, "relayed since probing began")
        var tried: [String] = []
        for t in [6.0, 11.0, 16.0, 21.0] {
            (now, wall) = at(t)
            step = m.step([Self.entry()], live: Self.live(handshake: 0), now: now, wall: wall)
            #expect(step.probe == [key])
            tried.append(step.settings[key]?.endpoint?.description ?? "")
        }
        #expect(tried == ["198.51.100.7:51820", "172.17.1.2:51820", "198.51.100.7:40000", "198.51.100.7:51820"])
        #expect(m.paths.first?.probes == 5)
    }

    @Test func directOnAFreshHandshakeKeepingTheLiveEndpoint() {
        var m = MeshPaths()
        var (now, wall) = at(0)
        _ = m.step([Self.entry()], live: Self.live(handshake: 0), now: now, wall: wall)
        (now, wall) = at(1)
        let step = m.step([Self.entry()], live: Self.live(handshake: Int64(wall.timeIntervalSince1970), rx: 92, endpoint: "198.51.100.7:40000"),
                          now: now, wall: wall)
        let key = Self.key.base64
        #expect(step.probe.isEmpty)
        #expect(step.settings[key] == .init(endpoint: nil, direct: true, keepalive: 25))
        #expect(m.paths.first?.state == .direct && m.paths.first?.endpoint == "198.51.100.7:40000")
        // A handshake older than REJECT_AFTER_TIME does not count.
        var n = MeshPaths()
        let stale = n.step([Self.entry()], live: Self.live(handshake: Int64(wall.timeIntervalSince1970) - 181), now: now, wall: wall)
        #expect(stale.settings[key]?.direct == false)
    }

    @Test func aQuietDirectPathGoesBackToTheGateway() {
        var m = MeshPaths()
        let key = Self.key.base64
        var (now, wall) = at(0)
        _ = m.step([Self.entry()], live: Self.live(handshake: Int64(wall.timeIntervalSince1970), rx: 100), now: now, wall: wall)
        #expect(m.paths.first?.state == .direct)
        // The session still looks fresh, but nothing arrived for 2 x keepalive + 10 s.
        (now, wall) = at(61)
        let step = m.step([Self.entry()], live: Self.live(handshake: Int64(Self.wall.timeIntervalSince1970), rx: 100), now: now, wall: wall)
        #expect(step.settings[key]?.direct == false && step.probe == [key])
        #expect(step.settings[key]?.endpoint == HostPort("198.51.100.7:40000"), "probing starts over at the first candidate")
        #expect(m.paths.first?.state == .probing)
    }

    @Test func newCandidatesAreProbedAfterTheFirstDelay() {
        var m = MeshPaths()
        let key = Self.key.base64
        var (now, wall) = at(0)
        _ = m.step([Self.entry()], live: Self.live(handshake: 0), now: now, wall: wall)
        (now, wall) = at(1)
        _ = m.step([Self.entry(candidates: ["198.51.100.7:51820"])], live: Self.live(handshake: 0), now: now, wall: wall)
        (now, wall) = at(2)
        let step = m.step([Self.entry(candidates: ["198.51.100.7:51820"])], live: Self.live(handshake: 0), now: now, wall: wall)
        #expect(step.probe == [key] && step.settings[key]?.endpoint == HostPort("198.51.100.7:51820"))
    }

    @Test func olderCoordinatorsEndpointAndNoKeepalive() {
        var m = MeshPaths()
        let key = Self.key.base64
        let (now, wall) = at(0)
        var e = Self.entry(candidates: nil, keepalive: nil)
        e.endpoint = "203.0.113.9:51820"
        _ = m.step([e], live: [:], now: now, wall: wall)
        let step = m.step([e], live: [:], now: now + .seconds(1), wall: wall)
        #expect(step.probe == [key])
        #expect(step.settings[key] == .init(endpoint: HostPort("203.0.113.9:51820"), direct: false, keepalive: MeshPaths.probeKeepalive))
        // A name is not probed (it would be resolved at every round).
        var n = MeshPaths()
        e.endpoint = "builder.example.com:51820"
        _ = n.step([e], live: [:], now: now, wall: wall)
        let named = n.step([e], live: [:], now: now + .seconds(2), wall: wall)
        #expect(named.probe.isEmpty && named.settings[key]?.endpoint == nil)
        // Entries that left the map are forgotten.
        _ = m.step([], live: [:], now: now, wall: wall)
        #expect(m.paths.isEmpty)
    }

    @Test func adjustLeavesRelayedPeersWithoutAllowedIPs() throws {
        var c = WGQuickConfig(interface: .init(), peers: [WGQuickConfig.Peer(publicKey: Self.key)])
        c.peers[0].allowedIPs = [try #require(IPPrefix("10.10.1.2/32"))]
        c.peers[0].endpoint = HostPort("198.51.100.7:40000")
        c.peers[0].persistentKeepalive = 25
        let key = Self.key.base64
        let relayed = MeshPaths.adjust(c, [key: .init(endpoint: HostPort("172.17.1.2:51820"), direct: false, keepalive: 25)], zeroKeepalive: [key])
        #expect(relayed.peers[0].allowedIPs.isEmpty && relayed.peers[0].persistentKeepalive == 0)
        #expect(relayed.peers[0].endpoint == HostPort("172.17.1.2:51820"))
        let direct = MeshPaths.adjust(c, [key: .init(endpoint: nil, direct: true, keepalive: 25)])
        #expect(direct.peers[0].allowedIPs == c.peers[0].allowedIPs && direct.peers[0].endpoint == nil && direct.peers[0].persistentKeepalive == 25)
    }

    @Test func candidateOrderAndNATKinds() throws {
        var p = FerryCore.Peer(id: "p", name: "b", kind: .device, owner: "o", segmentID: "s", ipv4: try #require(IPv4Address("10.10.1.2")),
                     publicKey: Self.key, mesh: true, seenEndpoint: HostPort("198.51.100.7:40000"))
        p.localCandidates = [try #require(HostPort("172.17.2.2:51820"))]
        #expect(p.meshCandidates.map(\.description) == ["198.51.100.7:40000", "198.51.100.7:51820", "172.17.2.2:51820"])
        #expect(MeshNATKind.of(candidates: p.meshCandidates) == .changesPort)
        p.seenEndpoint = HostPort("198.51.100.7:51820")
        #expect(p.meshCandidates.map(\.description) == ["198.51.100.7:51820", "172.17.2.2:51820"])
        #expect(MeshNATKind.of(candidates: p.meshCandidates) == .keepsPort)
        p.seenEndpoint = HostPort("172.17.2.2:51820")
        #expect(MeshNATKind.of(candidates: p.meshCandidates) == .none)
        let own = [try #require(IPAddress("172.17.2.2"))]
        #expect(MeshNATKind.of(seen: HostPort("198.51.100.7:40000"), listenPort: 51820, own: own) == .changesPort)
        #expect(MeshNATKind.of(seen: HostPort("198.51.100.7:51820"), listenPort: 51820, own: own) == .keepsPort)
        #expect(MeshNATKind.of(seen: HostPort("172.17.2.2:51820"), listenPort: 51820, own: own) == .none)
        #expect(MeshNATKind.of(seen: nil, listenPort: 51820, own: own) == .unknown)
        let (why, fix) = MeshPathCheck.explain(peer: "builder", mine: .changesPort, theirs: .changesPort, probes: 3, candidates: [], listenPort: 51820)
        #expect(why.contains("symmetric NAT on both sides") && fix.contains("--random-fully"))
        let (blocked, _) = MeshPathCheck.explain(peer: "builder", mine: .keepsPort, theirs: .none, probes: 3, candidates: ["198.51.100.7:51820"], listenPort: 51820)
        #expect(blocked.contains("UDP between the two is blocked"))
    }

    @Test func statusSaysThePath() throws {
        let now = Self.wall
        #expect(StatusReport.describePath("direct", since: now.addingTimeInterval(-90), now: now) == "direct for 1m 30s")
        #expect(StatusReport.describePath("relayed", since: now.addingTimeInterval(-40), now: now).hasPrefix("relayed through the gateway for 40s"))
        #expect(StatusReport.describePath("probing", since: nil, now: now).hasPrefix("relayed through the gateway while"))
    }
}

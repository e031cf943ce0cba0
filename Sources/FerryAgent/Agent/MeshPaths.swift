import FerryCore
import Foundation
import WireGuard

/// The path of one mesh link as the agent sees it (`ferry status` shows it; docs/mesh.md).
public struct MeshPath: Codable, Sendable, Equatable {
    public enum State: String, Codable, Sendable {
        /// Handshakes toward the candidates, no direct session yet; traffic goes through the gateway.
        case probing
        /// No direct handshake within `MeshPaths.relayAfter`; traffic goes through the
        /// gateway, and probing goes on.
        case relayed
        /// A direct session: the peer's addresses are routed to its own WireGuard peer.
        case direct
    }
    public var peerID: String
    public var name: String
    public var publicKey: String
    public var state: State
    /// When it entered `state` (probing and relayed count as one period: relayed since
    /// probing began).
    public var since: Date
    /// The endpoint in use (direct) or being tried (probing, relayed).
    public var endpoint: String?
    public var candidates: [String]
    /// Handshake rounds started since the link was last direct.
    public var probes: Int

    /// Through the gateway (probing or relayed).
    public var isRelayed: Bool { state != .direct }
}

/// Decides, for each mesh peer of the map, whether its traffic goes directly or through the
/// gateway, and which candidate the next handshake goes to (docs/mesh.md).
///
/// Direct only after a handshake: until then the peer's WireGuard entry has no AllowedIPs
/// (handshakes still go out, AllowedIPs only route data), so its addresses fall to the
/// gateway's entry, whose prefixes cover every address policy lets this machine reach or be
/// reached from. Both ends see the same handshake within a round trip, so both switch
/// within one tick of each other and the gateway never sees one direction of a flow alone
/// for longer than that.
///
/// Probing: every `probeInterval` the next candidate becomes the peer's endpoint and a
/// keepalive is queued (persistent keepalive set from 0 to on sends one at once, in the
/// kernel, wireguard-go and ferry-wg alike), which starts a handshake. Both ends do it,
/// so each end's NAT has a mapping toward the other when the other's initiation arrives:
/// endpoint-independent mappings (Linux MASQUERADE) open this way.
public struct MeshPaths: Sendable {
    /// WireGuard sends at most one initiation per REKEY_TIMEOUT (5 s): a candidate gets
    /// one handshake round before the next one is tried.
    public static let probeInterval: Duration = .seconds(5)
    /// A new link's (or new candidates') first round waits this long, so that the other
    /// side, whose map changed at the same moment, has this peer on its interface when the
    /// initiation arrives: a first initiation dropped as from an unknown key costs a whole
    /// `probeInterval`.
    public static let firstProbeDelay: Duration = .seconds(1)
    /// Without a direct handshake this long, the link is called relayed (its traffic has
    /// gone through the gateway all along).
    public static let relayAfter: Duration = .seconds(4)
    /// A session is unusable after REJECT_AFTER_TIME (180 s) without a new handshake.
    public static let handshakeLifetime: Int64 = 180
    /// The keepalive while probing when the map sets none: a queued keepalive is what
    /// starts each handshake round.
    public static let probeKeepalive = 25

    /// What one mesh peer's WireGuard entry must hold now.
    public struct Setting: Sendable, Equatable {
        public var endpoint: HostPort?
        public var direct: Bool
        public var keepalive: Int?
    }

    struct Link: Sendable {
        var path: MeshPath
        var candidates: [HostPort]
        var index = 0
        var lastProbe: ContinuousClock.Instant?
        /// No round before this.
        var notBefore: ContinuousClock.Instant
        /// No round yet since the link appeared.
        var new = true
        var probingSince: ContinuousClock.Instant
        var rx: UInt64 = 0
        var rxChanged: ContinuousClock.Instant
    }

    var links: [String: Link] = [:]

    public init() {}

    /// The candidates of a map entry: the coordinator's list, else its one endpoint
    /// (an older coordinator). Names are left out: they would be resolved at every probe.
    static func candidates(of entry: NetworkMap.Entry) -> [HostPort] {
        let list = (entry.candidates ?? [entry.endpoint].compactMap { $0 }).compactMap { HostPort($0) }
        return list.filter { $0.address != nil }
    }

    /// One tick: reads the interface's view of every mesh peer (`live`, by base64 key) and
    /// returns what each entry must hold, and the peers that get a new handshake round now.
    public mutating func step(_ entries: [NetworkMap.Entry], live: [String: InterfacePeerStatus], now: ContinuousClock.Instant,
                              wall: Date) -> (settings: [String: Setting], probe: Set<String>) {
        var settings: [String: Setting] = [:]
        var probe = Set<String>()
        var next: [String: Link] = [:]
        for entry in entries where entry.role == "mesh" {
            let key = entry.publicKey
            let candidates = Self.candidates(of: entry)
            var link = links[key] ?? Link(
                path: MeshPath(peerID: entry.id, name: entry.name, publicKey: key, state: .probing, since: wall,
                               endpoint: nil, candidates: [], probes: 0),
                candidates: candidates, notBefore: now + Self.firstProbeDelay, probingSince: now, rxChanged: now)
            link.path.name = entry.name
            link.path.candidates = candidates.map(\.description)
            if link.candidates != candidates {
                link.candidates = candidates
                link.index = 0
                link.lastProbe = nil
                link.notBefore = now + Self.firstProbeDelay
            }
            let status = live[key]
            if let status, UInt64(clamping: status.rxBytes) != link.rx {
                link.rx = UInt64(clamping: status.rxBytes)
                link.rxChanged = now
            }
            let fresh = status.map { s in s.latestHandshake > 0 && Int64(wall.timeIntervalSince1970) - s.latestHandshake < Self.handshakeLifetime } ?? false
            // Keepalives arrive at least every interval on a live direct path: none for two
            // intervals and more means the path broke (the session may still look fresh).
            let keepalive = entry.persistentKeepalive ?? 0
            let stalled = keepalive > 0 && now - link.rxChanged > .seconds(2 * keepalive + 10)
            if fresh && !stalled {
                if link.path.state != .direct {
                    link.path.state = .direct
                    link.path.since = wall
                }
                link.path.endpoint = status?.endpoint?.description ?? link.path.endpoint
                link.path.probes = 0
                // The live endpoint stays: WireGuard's roaming follows the NAT from here.
                settings[key] = Setting(endpoint: nil, direct: true, keepalive: entry.persistentKeepalive)
            } else {
                if link.path.state == .direct {
                    link.path.state = .probing
                    link.path.since = wall
                    link.probingSince = now
                    link.index = 0
                    link.lastProbe = nil
                    link.notBefore = now
                    link.rxChanged = now
                }
                if link.path.state == .probing, now - link.probingSince >= Self.relayAfter {
                    link.path.state = .relayed
                }
                if !candidates.isEmpty, now >= link.notBefore, link.lastProbe.map({ now - $0 >= Self.probeInterval }) ?? true {
                    if link.lastProbe != nil { link.index = (link.index + 1) % candidates.count }
                    link.lastProbe = now
                    link.new = false
                    link.path.probes += 1
                    probe.insert(key)
                }
                let target = candidates.isEmpty ? nil : candidates[link.index % candidates.count]
                link.path.endpoint = target?.description
                // A new peer's keepalive stays off until its first round: adding it with
                // keepalive on would send an initiation at once, before the other side
                // may know this peer.
                settings[key] = Setting(endpoint: target, direct: false,
                                        keepalive: link.new ? 0 : keepalive > 0 ? keepalive : Self.probeKeepalive)
            }
            next[key] = link
        }
        links = next
        return (settings, probe)
    }

    /// The paths now, in the map's order of names.
    public var paths: [MeshPath] { links.values.map(\.path).sorted { $0.name < $1.name } }

    /// Applies `settings` to a plan's peers: a relayed peer keeps its entry (handshakes go
    /// on) without AllowedIPs; `probe` peers get keepalive 0 in the first pass, so the second
    /// (with keepalive on) queues a keepalive that starts the handshake.
    static func adjust(_ config: WGQuickConfig, _ settings: [String: Setting], zeroKeepalive probe: Set<String> = []) -> WGQuickConfig {
        var c = config
        for i in c.peers.indices {
            let key = c.peers[i].publicKey.base64
            guard let s = settings[key] else { continue }
            if !s.direct { c.peers[i].allowedIPs = [] }
            // nil when direct: the live endpoint stays (an endpoint in the request would
            // undo WireGuard's roaming).
            c.peers[i].endpoint = s.endpoint
            c.peers[i].persistentKeepalive = probe.contains(key) ? 0 : s.keepalive
        }
        return c
    }
}

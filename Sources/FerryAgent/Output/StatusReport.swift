import FerryCore
import Foundation
import WireGuard

/// `ferry status`: the interface as `wg show` prints it, with the coordinator's names,
/// roles and segments, and the remaining TTL of ephemeral peers.
public struct StatusReport: Codable, Sendable {
    public struct Peer: Codable, Sendable {
        public var name: String?
        public var id: String?
        public var role: String?
        public var segment: String?
        public var publicKey: String
        public var endpoint: String?
        public var allowedIPs: [String]
        public var latestHandshake: Date?
        public var rxBytes: Int64
        public var txBytes: Int64
        public var persistentKeepalive: Int?
        public var expiresAt: Date?
        public var ttlSeconds: Int64?
        /// Mesh peers: `direct`, `relayed` or `probing` (through the gateway while the
        /// first handshakes go out), and since when (docs/mesh.md).
        public var path: String? = nil
        public var pathSince: Date? = nil
    }

    public var interface: String
    public var up: Bool
    public var name: String
    public var peerID: String
    public var segment: String?
    public var coordinator: String
    public var coordinatorReachable: Bool
    /// What is wrong between this machine and the coordinator that answers (removed, key
    /// rotated elsewhere), said instead of "unreachable".
    public var coordinatorProblem: String?
    public var publicKey: String
    public var addresses: [String]
    public var mapVersion: Int64?
    public var enabled: Bool?
    public var expiresAt: Date?
    public var ttlSeconds: Int64?
    public var peers: [Peer]

    /// Joins what the interface says (`live`, nil when it is down), the last map, this
    /// peer's view from the coordinator (nil when unreachable) and, when an admin token
    /// is at hand, every peer's view (for other peers' segments and TTLs).
    public static func make(state: AgentState, publicKey: String, live: [InterfacePeerStatus]?, map: NetworkMap?,
                            own: PeerView?, all: [PeerView]?, problem: String? = nil, mesh: [MeshPath]? = nil,
                            now: Date = Date()) -> StatusReport {
        let paths = Dictionary((mesh ?? []).map { ($0.publicKey, $0) }, uniquingKeysWith: { a, _ in a })
        let entries = Dictionary((map?.peers ?? []).map { ($0.publicKey, $0) }, uniquingKeysWith: { a, _ in a })
        let views = Dictionary((all ?? []).map { ($0.publicKey, $0) }, uniquingKeysWith: { a, _ in a })
        func ttl(_ d: Date?) -> Int64? { d.map { max(0, Int64($0.timeIntervalSince(now).rounded(.up))) } }
        var peers: [Peer] = []
        let keys = live.map { $0.map(\.publicKey.base64) } ?? (map?.peers.map(\.publicKey) ?? [])
        for key in keys {
            let l = live?.first { $0.publicKey.base64 == key }
            let e = entries[key], v = views[key]
            let expires = v?.expiresAt
            peers.append(Peer(
                name: e?.name ?? v?.name, id: e?.id ?? v?.id, role: e?.role ?? v?.kind, segment: v?.segment, publicKey: key,
                endpoint: l?.endpoint?.description ?? e?.endpoint,
                allowedIPs: l.map { $0.allowedIPs.map(\.description) } ?? e?.allowedIPs ?? [],
                latestHandshake: l.flatMap { $0.latestHandshake > 0 ? Date(timeIntervalSince1970: Double($0.latestHandshake)) : nil },
                rxBytes: l?.rxBytes ?? 0, txBytes: l?.txBytes ?? 0, persistentKeepalive: e?.persistentKeepalive,
                expiresAt: expires, ttlSeconds: ttl(expires),
                path: e?.role == "mesh" ? paths[key]?.state.rawValue : nil,
                pathSince: e?.role == "mesh" ? paths[key]?.since : nil))
        }
        let expires = own?.expiresAt ?? map?.expiresAt
        return StatusReport(
            interface: state.interface, up: live != nil, name: state.name, peerID: state.peerID, segment: own?.segment,
            coordinator: state.coordinator, coordinatorReachable: own != nil || problem != nil,
            coordinatorProblem: problem ?? own.flatMap { KeyMismatch.message(own: publicKey, coordinators: $0.publicKey) }, publicKey: publicKey,
            addresses: map?.interface.addresses ?? [], mapVersion: map?.version, enabled: own?.enabled ?? map?.enabled,
            expiresAt: expires, ttlSeconds: ttl(expires), peers: peers)
    }

    /// The text `wg show` would print, with the names.
    public func render(now: Date = Date()) -> String {
        var out = "interface: \(interface) (\(up ? "up" : "down"))\n"
        out += "  peer: \(name) (\(peerID))\(segment.map { ", segment \($0)" } ?? "")\n"
        out += "  public key: \(publicKey)\n"
        if !addresses.isEmpty { out += "  addresses: \(addresses.joined(separator: ", "))\n" }
        out += "  coordinator: \(coordinator) (\(coordinatorReachable ? "reachable" : "unreachable"))\(mapVersion.map { ", map \($0)" } ?? "")\n"
        if let coordinatorProblem { out += "  problem: \(coordinatorProblem)\n" }
        if enabled == false { out += "  state: disabled or expired at the coordinator\n" }
        if let ttlSeconds { out += "  expires in: \(DurationText.format(seconds: ttlSeconds)) (ephemeral)\n" }
        for p in peers {
            out += "\npeer: \(p.name ?? "(unknown to the coordinator)")\(p.role.map { " (\($0))" } ?? "")\n"
            out += "  public key: \(p.publicKey)\n"
            if let s = p.segment { out += "  segment: \(s)\n" }
            if let e = p.endpoint { out += "  endpoint: \(e)\n" }
            if let path = p.path { out += "  path: \(Self.describePath(path, since: p.pathSince, now: now))\n" }
            out += "  allowed ips: \(p.allowedIPs.isEmpty ? "(none)" : p.allowedIPs.joined(separator: ", "))\n"
            if let h = p.latestHandshake {
                out += "  latest handshake: \(DurationText.format(seconds: Int64(now.timeIntervalSince(h)))) ago\n"
            }
            if p.rxBytes > 0 || p.txBytes > 0 { out += "  transfer: \(Self.bytes(p.rxBytes)) received, \(Self.bytes(p.txBytes)) sent\n" }
            if let k = p.persistentKeepalive, k > 0 { out += "  persistent keepalive: every \(k) seconds\n" }
            if let t = p.ttlSeconds { out += "  expires in: \(DurationText.format(seconds: t)) (ephemeral)\n" }
        }
        return out
    }

    /// `direct for 2m`, `relayed through the gateway for 40s; still probing for a direct path`.
    static func describePath(_ path: String, since: Date?, now: Date) -> String {
        let age = since.map { " for " + DurationText.format(seconds: max(0, Int64(now.timeIntervalSince($0)))) } ?? ""
        switch path {
        case "direct": return "direct\(age)"
        case "relayed": return "relayed through the gateway\(age); still probing for a direct path (ferry doctor says why)"
        default: return "relayed through the gateway while the first direct handshakes go out\(age)"
        }
    }

    static func bytes(_ n: Int64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var v = Double(n), i = 0
        while v >= 1024, i < units.count - 1 { v /= 1024; i += 1 }
        return i == 0 ? "\(n) B" : String(format: "%.2f %@", v, units[i])
    }
}

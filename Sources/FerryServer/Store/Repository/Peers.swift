import FerryCore
import Foundation
import WireGuard

/// Which peers to load (each a WHERE clause of `SQLRepository.peerSelect`).
enum PeerSelection: Sendable {
    /// Every peer, in no particular order (the topology).
    case all
    /// Every peer, in creation order.
    case allByCreation
    /// Every gateway, in creation order.
    case gateways
    /// Peers whose TTL has run out at this time.
    case expired(at: Millis)
    /// The peers one creator made with one key (a repeated enrolment).
    case created(by: String, publicKey: String)
    /// A person's enabled devices.
    case enabledDevices(owner: String)
}

/// Peers, with their gateway and failover rows, and the address cursor of each segment.
protocol PeerRepository: AnyObject {
    func peers(_ selection: PeerSelection) throws -> [PeerRecord]
    func peer(id: String) throws -> PeerRecord?
    func peerExists(named name: String) throws -> Bool
    /// The name of the peer holding this key, other than `excluding`.
    func peerName(publicKey: String, excluding id: String?) throws -> String?
    func peerCount() throws -> Int
    func peerCount(segmentID: String) throws -> Int
    /// Peers per segment id.
    func peerCountsBySegment() throws -> [String: Int]
    /// (kind, enabled, expiresAt) of every peer, for the gauges.
    func peerStates() throws -> [(kind: String, enabled: Bool, expiresAt: Millis?)]
    /// (peer name, segment name) of every peer, for the DNS zone.
    func peerZoneNames() throws -> [(name: String, segment: String)]

    /// Where the next-fit allocation of a segment resumes (nil: from the start).
    func allocationCursor(segmentID: String) throws -> IPv4Address?
    func setAllocationCursor(segmentID: String, _ next: IPv4Address) throws
    func addressTaken(_ address: IPv4Address) throws -> Bool

    func insertPeer(_ p: Peer) throws
    /// Writes a peer's settings (not its address, segment or observations).
    func savePeer(_ p: Peer) throws
    func deletePeer(id: String) throws
    func setCandidates(peerID: String, _ candidates: [HostPort]) throws
    /// An agent's report; nil fields keep their stored values.
    func recordReport(peerID: String, endpoint: HostPort?, rxBytes: Int64?, txBytes: Int64?, latestHandshake: Int64?, at: Millis) throws
    func setSeenEndpoint(peerID: String, _ endpoint: String) throws
}

extension SQLRepository: PeerRepository {
    static let peerSelect = """
        SELECT p.*, g.endpoint AS g_endpoint, g.listen_port AS g_listen_port, g.subnets AS g_subnets,
               g.masquerade AS g_masquerade, g.local AS g_local, g.key_rotated_at AS g_key_rotated_at,
               \(failoverColumns)
        FROM peers p LEFT JOIN gateways g ON g.peer_id = p.id \(failoverJoin)
        """

    func peers(_ selection: PeerSelection) throws -> [PeerRecord] {
        let clause: String, arguments: SQLArguments
        switch selection {
        case .all: (clause, arguments) = ("", [])
        case .allByCreation: (clause, arguments) = ("ORDER BY p.created_at, p.id", [])
        case .gateways: (clause, arguments) = ("WHERE g.peer_id IS NOT NULL ORDER BY p.created_at, p.id", [])
        case .expired(let now): (clause, arguments) = ("WHERE p.expires_at IS NOT NULL AND p.expires_at <= ?", [now])
        case .created(let by, let key): (clause, arguments) = ("WHERE p.created_by = ? AND p.public_key = ?", [by, key])
        case .enabledDevices(let owner): (clause, arguments) = ("WHERE p.owner = ? AND p.kind = 'device' AND p.enabled = 1", [owner])
        }
        return try loadPeers(clause, arguments)
    }

    func peer(id: String) throws -> PeerRecord? {
        try loadPeers("WHERE p.id = ?", [id]).first
    }

    private func loadPeers(_ clause: String, _ arguments: SQLArguments) throws -> [PeerRecord] {
        try SQLRow.fetchAll(db, sql: "\(Self.peerSelect) \(clause)", arguments: arguments).map(Self.peerRecord)
    }

    static func peerRecord(_ row: SQLRow) throws -> PeerRecord {
        let id: String = row["id"]
        guard let kind = PeerKind(rawValue: row["kind"]), let tunnel = TunnelMode(rawValue: row["tunnel"]),
              let key = try? PublicKey(base64: row["public_key"] as String) else { throw StoreError.corrupt("peer \(id)") }
        let ipv4: Int64 = row["ipv4"]
        let reported: String? = row["reported_endpoint"], seen: String? = row["seen_endpoint"]
        var peer = Peer(
            id: id, name: row["name"], kind: kind, owner: row["owner"], segmentID: row["segment_id"],
            ipv4: IPv4Address(UInt32(truncatingIfNeeded: ipv4)), publicKey: key, tunnel: tunnel,
            dns: try strings(row["dns"])?.compactMap { IPAddress($0) }, mtu: row["mtu"], keepalive: row["keepalive"],
            mesh: row["mesh"], enabled: row["enabled"], restrictTo: try strings(row["restrict_to"])?.map(prefix),
            expiresAt: row["expires_at"], createdAt: row["created_at"], updatedAt: row["updated_at"],
            createdBy: row["created_by"], reportedEndpoint: reported.flatMap { HostPort($0) },
            seenEndpoint: seen.flatMap { HostPort($0) })
        peer.localCandidates = try strings(row["candidates"])?.compactMap { HostPort($0) } ?? []
        var gateway: Gateway?
        if let ep: String = row["g_endpoint"] {
            guard let endpoint = HostPort(ep) else { throw StoreError.corrupt("gateway \(id) endpoint") }
            gateway = Gateway(peerID: id, endpoint: endpoint, listenPort: UInt16(truncatingIfNeeded: row["g_listen_port"] as Int),
                              subnets: try strings(row["g_subnets"])?.map(prefix) ?? [], masquerade: row["g_masquerade"],
                              servesDNS: (row["g_local"] as Bool?) ?? false)
            readFailover(row, into: &gateway)
        }
        return PeerRecord(peer: peer, rxBytes: row["rx_bytes"], txBytes: row["tx_bytes"], latestHandshake: row["latest_handshake"],
                          gateway: gateway, gatewayLocal: (row["g_local"] as Bool?) ?? false, keyRotatedAt: row["g_key_rotated_at"],
                          lastHeartbeat: row["f_last_heartbeat"])
    }

    func peerExists(named name: String) throws -> Bool {
        try Bool.fetchOne(db, sql: "SELECT 1 FROM peers WHERE name = ?", arguments: [name]) ?? false
    }

    func peerName(publicKey: String, excluding id: String?) throws -> String? {
        if let id {
            return try String.fetchOne(db, sql: "SELECT name FROM peers WHERE public_key = ? AND id != ?", arguments: [publicKey, id])
        }
        return try String.fetchOne(db, sql: "SELECT name FROM peers WHERE public_key = ?", arguments: [publicKey])
    }

    func peerCount() throws -> Int {
        try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM peers") ?? 0
    }

    func peerCount(segmentID: String) throws -> Int {
        try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM peers WHERE segment_id = ?", arguments: [segmentID]) ?? 0
    }

    func peerCountsBySegment() throws -> [String: Int] {
        Dictionary(try SQLRow.fetchAll(db, sql: "SELECT segment_id, COUNT(*) AS n FROM peers GROUP BY segment_id")
            .map { ($0["segment_id"] as String, $0["n"] as Int) }, uniquingKeysWith: { a, _ in a })
    }

    func peerStates() throws -> [(kind: String, enabled: Bool, expiresAt: Millis?)] {
        try SQLRow.fetchAll(db, sql: "SELECT kind, enabled, expires_at FROM peers").map { ($0["kind"], $0["enabled"], $0["expires_at"]) }
    }

    func peerZoneNames() throws -> [(name: String, segment: String)] {
        try SQLRow.fetchAll(db, sql: "SELECT p.name AS name, s.name AS segment FROM peers p JOIN segments s ON s.id = p.segment_id")
            .map { ($0["name"], $0["segment"]) }
    }

    func allocationCursor(segmentID: String) throws -> IPv4Address? {
        try Int64.fetchOne(db, sql: "SELECT next_address FROM segments WHERE id = ?", arguments: [segmentID])
            .map { IPv4Address(UInt32(truncatingIfNeeded: $0)) }
    }

    func setAllocationCursor(segmentID: String, _ next: IPv4Address) throws {
        try db.execute(sql: "UPDATE segments SET next_address = ? WHERE id = ?", arguments: [Int64(next.value), segmentID])
    }

    func addressTaken(_ address: IPv4Address) throws -> Bool {
        try Bool.fetchOne(db, sql: "SELECT 1 FROM peers WHERE ipv4 = ?", arguments: [Int64(address.value)]) ?? false
    }

    func insertPeer(_ p: Peer) throws {
        try db.execute(sql: """
            INSERT INTO peers (id, name, kind, owner, segment_id, ipv4, public_key, tunnel, dns, mtu, keepalive, mesh, enabled,
                               restrict_to, expires_at, created_at, updated_at, created_by)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, arguments: [p.id, p.name, p.kind.rawValue, p.owner, p.segmentID, Int64(p.ipv4.value),
                             p.publicKey.base64, p.tunnel.rawValue, p.dns.map { Self.json($0.map(\.description)) }, p.mtu,
                             p.keepalive, p.mesh, p.enabled, p.restrictTo.map { Self.json($0.map(\.description)) },
                             p.expiresAt, p.createdAt, p.updatedAt, p.createdBy])
    }

    func savePeer(_ p: Peer) throws {
        try db.execute(sql: """
            UPDATE peers SET name = ?, owner = ?, public_key = ?, tunnel = ?, dns = ?, mtu = ?, keepalive = ?, mesh = ?,
                             enabled = ?, restrict_to = ?, updated_at = ? WHERE id = ?
            """, arguments: [p.name, p.owner, p.publicKey.base64, p.tunnel.rawValue, p.dns.map { Self.json($0.map(\.description)) }, p.mtu,
                             p.keepalive, p.mesh, p.enabled, p.restrictTo.map { Self.json($0.map(\.description)) }, p.updatedAt, p.id])
    }

    func deletePeer(id: String) throws {
        try db.execute(sql: "DELETE FROM peers WHERE id = ?", arguments: [id])
    }

    func setCandidates(peerID: String, _ candidates: [HostPort]) throws {
        try db.execute(sql: "UPDATE peers SET candidates = ? WHERE id = ?", arguments: [Self.json(candidates.map(\.description)), peerID])
    }

    func recordReport(peerID: String, endpoint: HostPort?, rxBytes: Int64?, txBytes: Int64?, latestHandshake: Int64?, at: Millis) throws {
        try db.execute(sql: """
            UPDATE peers SET reported_endpoint = COALESCE(?, reported_endpoint), rx_bytes = COALESCE(?, rx_bytes),
                   tx_bytes = COALESCE(?, tx_bytes), latest_handshake = COALESCE(?, latest_handshake), reported_at = ?
            WHERE id = ?
            """, arguments: [endpoint?.description, rxBytes, txBytes, latestHandshake, at, peerID])
    }

    func setSeenEndpoint(peerID: String, _ endpoint: String) throws {
        try db.execute(sql: "UPDATE peers SET seen_endpoint = ? WHERE id = ?", arguments: [endpoint, peerID])
    }
}

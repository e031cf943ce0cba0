import FerryCore
import Foundation
import WireGuard

/// A gateway's liveness row as the failover check reads it.
struct GatewayLivenessRow: Sendable {
    let id: String
    let name: String
    let up: Bool
    let heartbeat: Int64
    let aliveSince: Int64?
}

/// Gateways (the peer row is in PeerRepository) and their failover state.
protocol GatewayRepository: AnyObject {
    func insertGateway(_ g: Gateway, local: Bool, now: Millis) throws
    /// Writes endpoint, listen port, subnets and masquerade.
    func updateGateway(_ g: Gateway) throws
    func setGatewayKeyRotated(peerID: String, at: Millis) throws
    /// Gateway peer ids to their names.
    func gatewayNames() throws -> [String: String]
    /// The gateway ferryd hosts, by its name: its peer id, public key and last rotation.
    func localGateway(named name: String) throws -> (id: String, publicKey: String, keyRotatedAt: Millis?)?
    /// The overlay address of the enabled gateway ferryd hosts.
    func localGatewayAddress() throws -> IPv4Address?

    func setGatewayPriority(peerID: String, _ priority: Int) throws
    /// A heartbeat: alive now (`alive_since` kept while it stays alive), with its observations.
    func recordHeartbeat(peerID: String, at: Millis, observed: String) throws
    /// A heartbeat reporting a problem: its observations only (no sign of life).
    func recordObservation(peerID: String, observed: String) throws
    /// Every gateway that ever sent a heartbeat.
    func gatewayLiveness() throws -> [GatewayLivenessRow]
    /// Forgets since when a gateway has been alive (the hold-down starts over).
    func clearAliveSince(peerID: String) throws
    /// Sets the verdict; false when it already was `up` (another replica got there first).
    func setGatewayUp(peerID: String, _ up: Bool, at: Millis) throws -> Bool
}

extension SQLRepository: GatewayRepository {
    static let failoverColumns = "f.priority AS f_priority, f.up AS f_up, f.last_heartbeat AS f_last_heartbeat"
    static let failoverJoin = "LEFT JOIN gateway_failover f ON f.peer_id = p.id"

    static func readFailover(_ row: SQLRow, into gateway: inout Gateway?) {
        let priority: Int? = row["f_priority"], up: Bool? = row["f_up"]
        gateway?.priority = priority ?? CoordinatorService.defaultGatewayPriority
        gateway?.up = up ?? true
    }

    func insertGateway(_ g: Gateway, local: Bool, now: Millis) throws {
        try db.execute(sql: """
            INSERT INTO gateways (peer_id, endpoint, listen_port, subnets, masquerade, local, key_rotated_at)
            VALUES (?, ?, ?, ?, ?, ?, ?)
            """, arguments: [g.peerID, g.endpoint.description, Int(g.listenPort), Self.json(g.subnets.map(\.description)),
                             g.masquerade, local, now])
    }

    func updateGateway(_ g: Gateway) throws {
        try db.execute(sql: "UPDATE gateways SET endpoint = ?, listen_port = ?, subnets = ?, masquerade = ? WHERE peer_id = ?",
                       arguments: [g.endpoint.description, Int(g.listenPort), Self.json(g.subnets.map(\.description)), g.masquerade, g.peerID])
    }

    func setGatewayKeyRotated(peerID: String, at: Millis) throws {
        try db.execute(sql: "UPDATE gateways SET key_rotated_at = ? WHERE peer_id = ?", arguments: [at, peerID])
    }

    func gatewayNames() throws -> [String: String] {
        let rows = try SQLRow.fetchAll(db, sql: "SELECT p.id, p.name FROM peers p JOIN gateways g ON g.peer_id = p.id")
        return Dictionary(rows.map { ($0["id"] as String, $0["name"] as String) }, uniquingKeysWith: { a, _ in a })
    }

    func localGateway(named name: String) throws -> (id: String, publicKey: String, keyRotatedAt: Millis?)? {
        try SQLRow.fetchOne(db, sql: """
            SELECT p.id, p.public_key, g.key_rotated_at FROM peers p JOIN gateways g ON g.peer_id = p.id WHERE p.name = ? AND g.local = 1
            """, arguments: [name]).map { ($0["id"], $0["public_key"], $0["key_rotated_at"]) }
    }

    func localGatewayAddress() throws -> IPv4Address? {
        try Int64.fetchOne(db, sql: "SELECT p.ipv4 FROM peers p JOIN gateways g ON g.peer_id = p.id WHERE g.local = 1 AND p.enabled = 1")
            .map { IPv4Address(UInt32(truncatingIfNeeded: $0)) }
    }

    func setGatewayPriority(peerID: String, _ priority: Int) throws {
        try db.execute(sql: """
            INSERT INTO gateway_failover (peer_id, priority) VALUES (?, ?)
            ON CONFLICT(peer_id) DO UPDATE SET priority = excluded.priority
            """, arguments: [peerID, priority])
    }

    func recordHeartbeat(peerID: String, at now: Millis, observed: String) throws {
        try db.execute(sql: """
            INSERT INTO gateway_failover (peer_id, last_heartbeat, alive_since, observed) VALUES (?, ?, ?, ?)
            ON CONFLICT(peer_id) DO UPDATE SET last_heartbeat = excluded.last_heartbeat,
                alive_since = COALESCE(gateway_failover.alive_since, excluded.alive_since), observed = excluded.observed
            """, arguments: [peerID, now, now, observed])
    }

    func recordObservation(peerID: String, observed: String) throws {
        try db.execute(sql: """
            INSERT INTO gateway_failover (peer_id, observed) VALUES (?, ?)
            ON CONFLICT(peer_id) DO UPDATE SET observed = excluded.observed
            """, arguments: [peerID, observed])
    }

    func gatewayLiveness() throws -> [GatewayLivenessRow] {
        try SQLRow.fetchAll(db, sql: """
            SELECT f.peer_id, p.name, f.up, f.last_heartbeat, f.alive_since FROM gateway_failover f JOIN peers p ON p.id = f.peer_id
            WHERE f.last_heartbeat IS NOT NULL
            """).map {
            GatewayLivenessRow(id: $0["peer_id"], name: $0["name"], up: $0["up"], heartbeat: $0["last_heartbeat"], aliveSince: $0["alive_since"])
        }
    }

    func clearAliveSince(peerID: String) throws {
        try db.execute(sql: "UPDATE gateway_failover SET alive_since = NULL WHERE peer_id = ?", arguments: [peerID])
    }

    func setGatewayUp(peerID: String, _ up: Bool, at now: Millis) throws -> Bool {
        try db.execute(sql: """
            UPDATE gateway_failover SET up = ?, changed_at = ?, alive_since = CASE WHEN ? = 1 THEN alive_since ELSE NULL END
            WHERE peer_id = ? AND up != ?
            """, arguments: [up, now, up, peerID, up])
        return db.changesCount > 0
    }
}

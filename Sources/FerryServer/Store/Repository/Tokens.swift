import FerryCore
import Foundation
import WireGuard

/// A token as stored (its secret only hashed).
struct TokenRecord: Sendable {
    var id: String
    var name: String
    var scope: String
    var secretHash: String
    var segmentID: String?
    /// Filled by `token(secretHash:)` (authentication), nil elsewhere.
    var segmentName: String? = nil
    var maxTTL: Int?
    var peerID: String?
    var kind: String?
    var owner: String?
    var expiresAt: Millis?
    var usedAt: Millis?
    var createdAt: Millis
    var createdBy: String
    var allowFullTunnel: Bool
    var allowMesh: Bool
}

/// What is kept of a removed peer's token, to tell its machine why it is refused.
struct RemovedTokenRecord: Sendable {
    var peerName: String
    var reason: String
    var removedBy: String
    var removedAt: Millis
}

/// API tokens, and the hashes of tokens whose peer was removed.
protocol TokenRepository: AnyObject {
    func insertToken(_ t: TokenRecord) throws
    func token(id: String) throws -> TokenRecord?
    /// With its segment's name.
    func token(secretHash: String) throws -> TokenRecord?
    /// Ordered by creation.
    func tokens() throws -> [TokenRecord]
    /// A peer's tokens, of one scope or all.
    func tokens(peerID: String, scope: Scope?) throws -> [TokenRecord]
    func tokenCount(scope: Scope) throws -> Int
    func deleteToken(id: String) throws
    /// Marks an unused token used; false when it already was (single use across replicas).
    func markTokenUsed(id: String, at: Millis) throws -> Bool

    func removedToken(secretHash: String) throws -> RemovedTokenRecord?
    func recordRemovedToken(secretHash: String, peerID: String, _ r: RemovedTokenRecord) throws
}

extension SQLRepository: TokenRepository {
    static func token(_ row: SQLRow) -> TokenRecord {
        TokenRecord(id: row["id"], name: row["name"], scope: row["scope"], secretHash: row["secret_hash"], segmentID: row["segment_id"],
                    segmentName: row["segment_name"], maxTTL: row["max_ttl"],
                    peerID: row["peer_id"], kind: row["kind"], owner: row["owner"], expiresAt: row["expires_at"], usedAt: row["used_at"],
                    createdAt: row["created_at"], createdBy: row["created_by"], allowFullTunnel: row["allow_full_tunnel"],
                    allowMesh: row["allow_mesh"])
    }

    func insertToken(_ t: TokenRecord) throws {
        try db.execute(sql: """
            INSERT INTO tokens (id, name, scope, secret_hash, segment_id, max_ttl, peer_id, kind, owner, expires_at, created_at, created_by,
                                allow_full_tunnel, allow_mesh)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, arguments: [t.id, t.name, t.scope, t.secretHash, t.segmentID, t.maxTTL, t.peerID, t.kind, t.owner, t.expiresAt,
                             t.createdAt, t.createdBy, t.allowFullTunnel, t.allowMesh])
    }

    func token(id: String) throws -> TokenRecord? {
        try SQLRow.fetchOne(db, sql: "SELECT * FROM tokens WHERE id = ?", arguments: [id]).map(Self.token)
    }

    func token(secretHash: String) throws -> TokenRecord? {
        try SQLRow.fetchOne(db, sql: """
            SELECT t.*, s.name AS segment_name FROM tokens t LEFT JOIN segments s ON s.id = t.segment_id WHERE t.secret_hash = ?
            """, arguments: [secretHash]).map(Self.token)
    }

    func tokens() throws -> [TokenRecord] {
        try SQLRow.fetchAll(db, sql: "SELECT * FROM tokens ORDER BY created_at, id").map(Self.token)
    }

    func tokens(peerID: String, scope: Scope?) throws -> [TokenRecord] {
        if let scope {
            return try SQLRow.fetchAll(db, sql: "SELECT * FROM tokens WHERE peer_id = ? AND scope = ?", arguments: [peerID, scope.rawValue])
                .map(Self.token)
        }
        return try SQLRow.fetchAll(db, sql: "SELECT * FROM tokens WHERE peer_id = ?", arguments: [peerID]).map(Self.token)
    }

    func tokenCount(scope: Scope) throws -> Int {
        try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM tokens WHERE scope = ?", arguments: [scope.rawValue]) ?? 0
    }

    func deleteToken(id: String) throws {
        try db.execute(sql: "DELETE FROM tokens WHERE id = ?", arguments: [id])
    }

    func markTokenUsed(id: String, at now: Millis) throws -> Bool {
        try db.execute(sql: "UPDATE tokens SET used_at = ? WHERE id = ? AND used_at IS NULL", arguments: [now, id])
        return db.changesCount == 1
    }

    func removedToken(secretHash: String) throws -> RemovedTokenRecord? {
        try SQLRow.fetchOne(db, sql: "SELECT * FROM removed_tokens WHERE secret_hash = ?", arguments: [secretHash]).map {
            RemovedTokenRecord(peerName: $0["peer_name"], reason: $0["reason"], removedBy: $0["removed_by"], removedAt: $0["removed_at"])
        }
    }

    func recordRemovedToken(secretHash: String, peerID: String, _ r: RemovedTokenRecord) throws {
        try db.execute(sql: """
            INSERT INTO removed_tokens (secret_hash, peer_id, peer_name, reason, removed_by, removed_at)
            VALUES (?, ?, ?, ?, ?, ?)
            ON CONFLICT (secret_hash) DO UPDATE SET peer_id = excluded.peer_id, peer_name = excluded.peer_name,
                reason = excluded.reason, removed_by = excluded.removed_by, removed_at = excluded.removed_at
            """, arguments: [secretHash, peerID, r.peerName, r.reason, r.removedBy, r.removedAt])
    }
}

import FerryCore
import Foundation
import GRDB

/// What happens to a peer's tokens when the peer goes (deleted by an admin or a CI job,
/// or expired): each is deleted with its own `token.delete` audit record, and its hash is
/// kept in `removed_tokens`, so the machine that still holds it is told "removed, by whom,
/// when" (401 `peer_removed`) instead of "unknown token", and can stop for good.
extension FerryStore {
    static func retireTokens(_ db: Database, peerID: String, peerName: String, reason: String, by actor: String, now: Millis,
                             audit: inout [AuditEntry]) throws {
        let segments = try context(db).segments
        for row in try Row.fetchAll(db, sql: "SELECT * FROM tokens WHERE peer_id = ?", arguments: [peerID]) {
            let view = tokenView(row, segments: segments)
            let hash: String = row["secret_hash"]
            try db.execute(sql: """
                INSERT OR REPLACE INTO removed_tokens (secret_hash, peer_id, peer_name, reason, removed_by, removed_at)
                VALUES (?, ?, ?, ?, ?, ?)
                """, arguments: [hash, peerID, peerName, reason, actor, now])
            try db.execute(sql: "DELETE FROM tokens WHERE id = ?", arguments: [view.id])
            audit.append(AuditEntry(action: "token.delete", objectType: "token", objectID: view.id, peerID: peerID, before: json(view)))
        }
    }

    /// The 401 for a token whose peer is gone, or nil when the hash was never a peer's.
    static func removedPeerError(_ db: Database, hash: String) throws -> APIError? {
        guard let row = try Row.fetchOne(db, sql: "SELECT * FROM removed_tokens WHERE secret_hash = ?", arguments: [hash]) else { return nil }
        let name: String = row["peer_name"], reason: String = row["reason"], by: String = row["removed_by"]
        let at = ISO8601DateFormatter().string(from: Views.date(row["removed_at"]))
        let what = reason == "expired" ? "its time to live ran out at \(at)" : "removed by \(by) at \(at)"
        return APIError(status: 401, code: "peer_removed", message: "peer '\(name)' was removed from the network (\(what))")
    }

    /// The table behind `removedPeerError`; a migration of its own.
    static func registerRemovedTokens(_ m: inout DatabaseMigrator) {
        m.registerMigration("removed_tokens") { db in
            try db.execute(sql: """
                CREATE TABLE removed_tokens (
                    secret_hash TEXT PRIMARY KEY,
                    peer_id TEXT NOT NULL,
                    peer_name TEXT NOT NULL,
                    reason TEXT NOT NULL,
                    removed_by TEXT NOT NULL,
                    removed_at INTEGER NOT NULL
                );
                """)
        }
    }
}

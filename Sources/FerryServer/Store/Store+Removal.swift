import FerryCore
import Foundation

/// What happens to a peer's tokens when the peer goes (deleted by an admin or a CI job,
/// or expired): each is deleted with its own `token.delete` audit record, and its hash is
/// kept in `removed_tokens`, so the machine that still holds it is told "removed, by whom,
/// when" (401 `peer_removed`) instead of "unknown token", and can stop for good.
extension FerryStore {
    static func retireTokens(_ db: any SQLTransaction, peerID: String, peerName: String, reason: String, by actor: String, now: Millis,
                             audit: inout [AuditEntry]) throws {
        let segments = try context(db).segments
        for row in try SQLRow.fetchAll(db, sql: "SELECT * FROM tokens WHERE peer_id = ?", arguments: [peerID]) {
            let view = tokenView(row, segments: segments)
            let hash: String = row["secret_hash"]
            try db.execute(sql: """
                INSERT INTO removed_tokens (secret_hash, peer_id, peer_name, reason, removed_by, removed_at)
                VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT (secret_hash) DO UPDATE SET peer_id = excluded.peer_id, peer_name = excluded.peer_name,
                    reason = excluded.reason, removed_by = excluded.removed_by, removed_at = excluded.removed_at
                """, arguments: [hash, peerID, peerName, reason, actor, now])
            try db.execute(sql: "DELETE FROM tokens WHERE id = ?", arguments: [view.id])
            audit.append(AuditEntry(action: "token.delete", objectType: "token", objectID: view.id, peerID: peerID, before: json(view)))
        }
    }

    /// The 401 for a token whose peer is gone, or nil when the hash was never a peer's.
    static func removedPeerError(_ db: any SQLTransaction, hash: String) throws -> APIError? {
        guard let row = try SQLRow.fetchOne(db, sql: "SELECT * FROM removed_tokens WHERE secret_hash = ?", arguments: [hash]) else { return nil }
        let name: String = row["peer_name"], reason: String = row["reason"], by: String = row["removed_by"]
        let at = ISO8601DateFormatter().string(from: Views.date(row["removed_at"]))
        let what = reason == "expired" ? "its time to live ran out at \(at)" : "removed by \(by) at \(at)"
        return APIError(status: 401, code: "peer_removed", message: "peer '\(name)' was removed from the network (\(what))")
    }
}

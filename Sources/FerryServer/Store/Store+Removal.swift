import FerryCore
import Foundation

/// What happens to a peer's tokens when the peer goes (deleted by an admin or a CI job,
/// or expired): each is deleted with its own `token.delete` audit record, and its hash is
/// kept in `removed_tokens`, so the machine that still holds it is told "removed, by whom,
/// when" (401 `peer_removed`) instead of "unknown token", and can stop for good.
extension FerryStore {
    static func retireTokens(_ db: any StoreRepository, peerID: String, peerName: String, reason: String, by actor: String, now: Millis,
                             audit: inout [AuditEntry]) throws {
        let segments = try context(db).segments
        for token in try db.tokens(peerID: peerID, scope: nil) {
            let view = tokenView(token, segments: segments)
            try db.recordRemovedToken(secretHash: token.secretHash, peerID: peerID,
                                      RemovedTokenRecord(peerName: peerName, reason: reason, removedBy: actor, removedAt: now))
            try db.deleteToken(id: view.id)
            audit.append(AuditEntry(action: "token.delete", objectType: "token", objectID: view.id, peerID: peerID, before: json(view)))
        }
    }

    /// The 401 for a token whose peer is gone, or nil when the hash was never a peer's.
    static func removedPeerError(_ db: any StoreRepository, hash: String) throws -> APIError? {
        guard let removed = try db.removedToken(secretHash: hash) else { return nil }
        let name = removed.peerName, reason = removed.reason, by = removed.removedBy
        let at = ISO8601DateFormatter().string(from: Views.date(removed.removedAt))
        let what = reason == "expired" ? "its time to live ran out at \(at)" : "removed by \(by) at \(at)"
        return APIError(status: 401, code: "peer_removed", message: "peer '\(name)' was removed from the network (\(what))")
    }
}

import FerryCore
import Foundation
import WireGuard

/// A portal sign-in under way, by the hash of its `state`.
struct PortalLoginRecord: Sendable {
    var nonce: String
    var verifier: String
    var returnTo: String
    var createdAt: Millis
}

/// The portal's sign-ins under way, its sessions, and the configs it handed out.
protocol PortalRepository: AnyObject {
    /// Stores a sign-in, forgetting those begun before `forgetBefore`.
    func insertPortalLogin(stateHash: String, _ login: PortalLoginRecord, forgetBefore: Millis) throws
    /// Takes (reads and deletes) a sign-in.
    func takePortalLogin(stateHash: String) throws -> PortalLoginRecord?
    /// Stores a session, forgetting those expired at `now`.
    func insertPortalSession(_ s: PortalSession, secretHash: String, now: Millis) throws
    /// The live session with this secret.
    func portalSession(secretHash: String, now: Millis) throws -> PortalSession?
    /// Live sessions, newest first.
    func portalSessions(now: Millis) throws -> [PortalSession]
    /// false when there is no live session with this id.
    func revokePortalSession(id: String, at: Millis) throws -> Bool
    func revokePortalSessions(person: String, at: Millis) throws
    func recordIssuedConfig(peerID: String, hash: String, at: Millis) throws
    /// Peer id to the hash of the config it was last given.
    func issuedConfigs() throws -> [String: String]
}

extension SQLRepository: PortalRepository {
    func insertPortalLogin(stateHash: String, _ l: PortalLoginRecord, forgetBefore: Millis) throws {
        try db.execute(sql: "DELETE FROM portal_logins WHERE created_at < ?", arguments: [forgetBefore])
        try db.execute(sql: "INSERT INTO portal_logins (state_hash, nonce, verifier, return_to, created_at) VALUES (?, ?, ?, ?, ?)",
                       arguments: [stateHash, l.nonce, l.verifier, l.returnTo, l.createdAt])
    }

    func takePortalLogin(stateHash: String) throws -> PortalLoginRecord? {
        guard let row = try SQLRow.fetchOne(db, sql: "SELECT * FROM portal_logins WHERE state_hash = ?", arguments: [stateHash]) else { return nil }
        try db.execute(sql: "DELETE FROM portal_logins WHERE state_hash = ?", arguments: [stateHash])
        return PortalLoginRecord(nonce: row["nonce"], verifier: row["verifier"], returnTo: row["return_to"], createdAt: row["created_at"])
    }

    func insertPortalSession(_ s: PortalSession, secretHash: String, now: Millis) throws {
        try db.execute(sql: "DELETE FROM portal_sessions WHERE expires_at < ?", arguments: [now])
        try db.execute(sql: """
            INSERT INTO portal_sessions (id, secret_hash, csrf, person, subject, role, segment, method, token_id, created_at, expires_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, arguments: [s.id, secretHash, s.csrf, s.person, s.subject, s.role.rawValue, s.segment, s.method, s.tokenID,
                             s.createdAt, s.expiresAt])
    }

    static func portalSession(_ row: SQLRow) -> PortalSession? {
        guard let role = PortalConfiguration.Role(rawValue: row["role"]) else { return nil }
        return PortalSession(id: row["id"], csrf: row["csrf"], person: row["person"], subject: row["subject"], role: role,
                             segment: row["segment"], method: row["method"], tokenID: row["token_id"], createdAt: row["created_at"],
                             expiresAt: row["expires_at"])
    }

    func portalSession(secretHash: String, now: Millis) throws -> PortalSession? {
        try SQLRow.fetchOne(db, sql: """
            SELECT * FROM portal_sessions WHERE secret_hash = ? AND revoked_at IS NULL AND expires_at > ?
            """, arguments: [secretHash, now]).flatMap(Self.portalSession)
    }

    func portalSessions(now: Millis) throws -> [PortalSession] {
        try SQLRow.fetchAll(db, sql: "SELECT * FROM portal_sessions WHERE revoked_at IS NULL AND expires_at > ? ORDER BY created_at DESC",
                            arguments: [now]).compactMap(Self.portalSession)
    }

    func revokePortalSession(id: String, at now: Millis) throws -> Bool {
        try db.execute(sql: "UPDATE portal_sessions SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", arguments: [now, id])
        return db.changesCount == 1
    }

    func revokePortalSessions(person: String, at now: Millis) throws {
        try db.execute(sql: "UPDATE portal_sessions SET revoked_at = ? WHERE person = ? AND revoked_at IS NULL", arguments: [now, person])
    }

    func recordIssuedConfig(peerID: String, hash: String, at now: Millis) throws {
        try db.execute(sql: """
            INSERT INTO portal_devices (peer_id, config_hash, issued_at) VALUES (?, ?, ?)
            ON CONFLICT (peer_id) DO UPDATE SET config_hash = excluded.config_hash, issued_at = excluded.issued_at
            """, arguments: [peerID, hash, now])
    }

    func issuedConfigs() throws -> [String: String] {
        Dictionary(try SQLRow.fetchAll(db, sql: "SELECT peer_id, config_hash FROM portal_devices").map { ($0["peer_id"], $0["config_hash"]) },
                   uniquingKeysWith: { a, _ in a })
    }
}

import Crypto
import FerryCore
import Foundation

/// A signed-in portal session as the store keeps it (the cookie's secret only hashed).
public struct PortalSession: Sendable, Equatable {
    public var id: String
    public var csrf: String
    /// The person (the owner name of their devices), or `token:ID` for the admin token.
    public var person: String
    public var subject: String?
    public var role: PortalConfiguration.Role
    public var segment: String?
    /// `oidc` or `admin-token`.
    public var method: String
    public var tokenID: String?
    public var createdAt: Millis
    public var expiresAt: Millis

    /// The caller the store's service methods authorize: an admin session is an admin (the
    /// admin token's own id when it signed in with it); a developer is a `person`, who sees
    /// and changes only their own devices, in their segment.
    public var caller: Caller {
        switch role {
        case .admin:
            var c = Caller(tokenID: tokenID ?? "", name: person, scope: .admin)
            if tokenID == nil { c.person = person }
            return c
        case .developer:
            var c = Caller(tokenID: "", name: person, scope: .person, segmentName: segment)
            c.person = person
            return c
        }
    }
}

/// A session as the admin page lists it (no secrets).
struct PortalSessionView: Codable, Sendable, Equatable {
    var id: String
    var person: String
    var role: String
    var segment: String?
    var method: String
    var createdAt: Date
    var expiresAt: Date
}

extension FerryStore {
    /// Sign-ins under way live 10 minutes: time enough at any identity provider's page.
    static let portalLoginMs: Int64 = 600_000

    /// Remembers a sign-in under way by the SHA-256 of its `state`.
    func portalBeginLogin(state: String, nonce: String, verifier: String, returnTo: String) async throws {
        let now = clock.now()
        try await writeUnaudited { db in
            try db.insertPortalLogin(stateHash: TokenSecret.hash(state),
                                     PortalLoginRecord(nonce: nonce, verifier: verifier, returnTo: returnTo, createdAt: now),
                                     forgetBefore: now - FerryStore.portalLoginMs)
        }
    }

    /// Takes (and deletes) the sign-in a `state` names: a state works once, so a replayed
    /// callback finds nothing.
    func portalTakeLogin(state: String) async throws -> (nonce: String, verifier: String, returnTo: String)? {
        let now = clock.now()
        return try await writeUnaudited { db in
            guard let login = try db.takePortalLogin(stateHash: TokenSecret.hash(state)) else { return nil }
            guard login.createdAt >= now - FerryStore.portalLoginMs else { return nil }
            return (login.nonce, login.verifier, login.returnTo)
        }
    }

    /// A new session; returns it and the cookie's secret (shown to nobody else). Audited as
    /// `portal.signin` by the person (or the admin token) who signed in.
    func portalCreateSession(person: String, subject: String?, role: PortalConfiguration.Role, segment: String?, method: String,
                             tokenID: String?, seconds: Int64) async throws -> (PortalSession, secret: String) {
        let secret = OIDCCodeFlow.random()
        let id = IDs.make("ps")
        let csrf = OIDCCodeFlow.random()
        let now = clock.now()
        let session = PortalSession(id: id, csrf: csrf, person: person, subject: subject, role: role, segment: segment, method: method,
                                    tokenID: tokenID, createdAt: now, expiresAt: now + seconds * 1000)
        try await write(session.caller) { db, audit, now in
            try db.insertPortalSession(session, secretHash: TokenSecret.hash(secret), now: now)
            audit.append(AuditEntry(action: "portal.signin", objectType: "session", objectID: id,
                                    after: FerryStore.json(FerryStore.portalSessionView(session))))
        }
        return (session, secret)
    }

    /// A sign-in refused (no role for these claims): audited, so an admin sees who tried.
    func portalAuditRefused(person: String, reason: String) async throws {
        try await write(.system("portal")) { _, audit, _ in
            audit.append(AuditEntry(action: "portal.refused", objectType: "person", objectID: person, after: FerryStore.json(reason)))
        }
    }

    /// The live session a cookie's secret names, or nil (unknown, expired or revoked).
    func portalSession(secret: String) async throws -> PortalSession? {
        let now = clock.now()
        return try await read { db in
            try db.portalSession(secretHash: TokenSecret.hash(secret), now: now)
        }
    }

    static func portalSessionView(_ s: PortalSession) -> PortalSessionView {
        PortalSessionView(id: s.id, person: s.person, role: s.role.rawValue, segment: s.segment, method: s.method,
                          createdAt: Views.date(s.createdAt), expiresAt: Views.date(s.expiresAt))
    }

    /// Live sessions, newest first (the admin page).
    func portalSessions() async throws -> [PortalSessionView] {
        let now = clock.now()
        return try await read { db in
            try db.portalSessions(now: now).map(FerryStore.portalSessionView)
        }
    }

    /// Ends a session (sign out, or an admin's revocation). Unknown ids are a 404.
    func portalRevokeSession(id: String, caller: Caller) async throws {
        try await write(caller) { db, audit, now in
            guard try db.revokePortalSession(id: id, at: now) else { throw APIError.notFound("session \(id)") }
            audit.append(AuditEntry(action: "portal.signout", objectType: "session", objectID: id))
        }
    }

    /// A person removed from their group: their sessions end and (when configured) their
    /// devices are disabled, in one audited change.
    func portalRemovePerson(_ person: String, disableDevices: Bool) async throws -> Int {
        try await write(.system("portal")) { db, audit, now in
            try db.revokePortalSessions(person: person, at: now)
            guard disableDevices else { return 0 }
            let records = try db.peers(.enabledDevices(owner: person))
            for r in records {
                var p = r.peer
                p.enabled = false
                p.updatedAt = now
                try db.savePeer(p)
                audit.append(AuditEntry(action: "peer.update", objectType: "peer", objectID: p.id, peerID: p.id,
                                        before: FerryStore.json(["enabled": true]), after: FerryStore.json(["enabled": false])))
            }
            return records.count
        }
    }

    /// Remembers the config a device was just given (its SHA-256 without the private key),
    /// so the portal can tell when the one on the device no longer matches.
    func portalRecordIssued(peerID: String, template: String) async throws {
        let now = clock.now()
        try await writeUnaudited { db in try db.recordIssuedConfig(peerID: peerID, hash: TokenSecret.hash(template), at: now) }
    }

    /// Peer id to the hash of the config it was last given in the portal.
    func portalIssued() async throws -> [String: String] {
        try await read { try $0.issuedConfigs() }
    }

    /// The last `n` audit records, newest first (the admin page's live tail).
    func portalRecentAudit(_ n: Int) async throws -> [AuditEventView] {
        let last = try await read { try $0.lastAuditSeq() }
        return try await audit(AuditQuery(afterSeq: max(0, last - Int64(n)))).reversed()
    }
}

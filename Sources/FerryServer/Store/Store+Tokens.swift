import FerryCore
import Foundation
import WireGuard

extension FerryStore {
    static func tokenView(_ row: SQLRow, segments: [String: Segment]) -> TokenView {
        let seg: String? = row["segment_id"]
        let maxTTL: Int? = row["max_ttl"]
        let expires: Int64? = row["expires_at"], used: Int64? = row["used_at"]
        let enroll = (row["scope"] as String) == Scope.enroll.rawValue
        return TokenView(id: row["id"], name: row["name"], scope: row["scope"], segment: seg.map { segments[$0]?.name ?? $0 },
                         maxTTLSeconds: maxTTL, peer: row["peer_id"], kind: row["kind"], owner: row["owner"],
                         expiresAt: expires.map(Views.date), usedAt: used.map(Views.date), createdAt: Views.date(row["created_at"]),
                         createdBy: row["created_by"], allowFullTunnel: enroll ? row["allow_full_tunnel"] : nil,
                         allowMesh: enroll ? row["allow_mesh"] : nil)
    }

    @discardableResult
    static func insertToken(_ db: any SQLTransaction, name: String, scope: Scope, secret: String, now: Millis, createdBy: String,
                            expiresAt: Millis? = nil, segmentID: String? = nil, maxTTL: Int? = nil, peerID: String? = nil,
                            kind: String? = nil, owner: String? = nil, allowFullTunnel: Bool = false, allowMesh: Bool = false,
                            id: String = IDs.make("tok")) throws -> TokenView {
        try db.execute(sql: """
            INSERT INTO tokens (id, name, scope, secret_hash, segment_id, max_ttl, peer_id, kind, owner, expires_at, created_at, created_by,
                                allow_full_tunnel, allow_mesh)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, arguments: [id, name, scope.rawValue, TokenSecret.hash(secret), segmentID, maxTTL, peerID, kind, owner, expiresAt, now, createdBy,
                             allowFullTunnel, allowMesh])
        guard let row = try SQLRow.fetchOne(db, sql: "SELECT * FROM tokens WHERE id = ?", arguments: [id]) else { throw StoreError.corrupt("token") }
        return tokenView(row, segments: try context(db).segments)
    }

    /// The caller behind a bearer secret; 401 for unknown, expired or used tokens.
    public func authenticate(_ secret: Substring) async throws -> Caller {
        guard TokenSecret.isWellFormed(secret) else { throw APIError.unauthorized("malformed bearer token") }
        let hash = TokenSecret.hash(String(secret))
        let now = clock.now()
        return try await read { db in
            guard let row = try SQLRow.fetchOne(db, sql: """
                SELECT t.*, s.name AS segment_name FROM tokens t LEFT JOIN segments s ON s.id = t.segment_id WHERE t.secret_hash = ?
                """, arguments: [hash]) else {
                throw try FerryStore.removedPeerError(db, hash: hash) ?? APIError.unauthorized("unknown bearer token")
            }
            if let e: Int64 = row["expires_at"], e <= now { throw APIError.unauthorized("token expired") }
            let usedAt: Int64? = row["used_at"]
            if let usedAt, now - usedAt > EnrolmentRetry.windowMs {
                throw APIError.unauthorized(EnrolmentRetry.spent(at: usedAt))
            }
            guard let scope = Scope(rawValue: row["scope"]) else { throw StoreError.corrupt("token scope") }
            return Caller(tokenID: row["id"], name: row["name"], scope: scope, segmentName: row["segment_name"],
                          maxTTLSeconds: row["max_ttl"], peerID: row["peer_id"], kind: row["kind"], owner: row["owner"],
                          allowFullTunnel: row["allow_full_tunnel"], allowMesh: row["allow_mesh"], usedAt: usedAt)
        }
    }

    public func tokens() async throws -> [TokenView] {
        try await read { db in
            let segs = try FerryStore.context(db).segments
            return try SQLRow.fetchAll(db, sql: "SELECT * FROM tokens ORDER BY created_at, id").map { FerryStore.tokenView($0, segments: segs) }
        }
    }

    public func createToken(_ req: CreateTokenRequest, caller: Caller) async throws -> TokenCreated {
        let name = try Validate.name(req.name)
        let scope = try Validate.enumValue(req.scope, Scope.self, field: "scope")
        if scope == .device { throw APIError.invalid("scope", "device tokens come from enrolment (POST /v1/enroll)") }
        if scope == .person { throw APIError.invalid("scope", "a person signs in to the portal; there are no person tokens") }
        if scope == .gateway { throw APIError.invalid("scope", "gateway tokens come from POST /v1/gateways/{id}/token") }
        if let e = req.expiresInSeconds, !(1...(10 * 365 * 24 * 3600)).contains(e) {
            throw APIError.invalid("expiresInSeconds", "must be between 1 and 315360000")
        }
        let needsSegment = scope == .ci || scope == .enroll
        if !needsSegment, req.segment != nil { throw APIError.invalid("segment", "only ci and enroll tokens have a segment") }
        if needsSegment, req.segment == nil { throw APIError.missing("segment") }
        if scope != .ci, req.maxTTLSeconds != nil { throw APIError.invalid("maxTTLSeconds", "only ci tokens have a maximum TTL") }
        if let m = req.maxTTLSeconds, !(1...FerryStore.maxTTLSeconds).contains(m) {
            throw APIError.invalid("maxTTLSeconds", "must be between 1 and \(FerryStore.maxTTLSeconds)")
        }
        if scope != .enroll, req.kind != nil || req.owner != nil {
            throw APIError.invalid(req.kind != nil ? "kind" : "owner", "only enroll tokens carry the kind and owner of their peer")
        }
        if scope != .enroll, req.allowFullTunnel != nil || req.allowMesh != nil {
            throw APIError.invalid(req.allowFullTunnel != nil ? "allowFullTunnel" : "allowMesh", "only enroll tokens grant a full tunnel or mesh links")
        }
        let kind = try req.kind.map { k throws(APIError) in try Validate.enumValue(k, PeerKind.self, field: "kind") }
        if kind == .gateway { throw APIError.invalid("kind", "gateways are created with POST /v1/gateways") }
        let owner = try req.owner.map { o throws(APIError) in try Validate.label(o, field: "owner") }
        let secret = TokenSecret.generate()
        return try await write(caller) { db, audit, now in
            var segmentID: String?
            if let s = req.segment {
                guard let seg = try FerryStore.segment(named: s, db) else { throw APIError.invalid("segment", "no segment named \(s)") }
                segmentID = seg.id
            }
            let view = try FerryStore.insertToken(
                db, name: name, scope: scope, secret: secret, now: now, createdBy: caller.auditName,
                expiresAt: req.expiresInSeconds.map { now + Int64($0) * 1000 }, segmentID: segmentID,
                maxTTL: scope == .ci ? (req.maxTTLSeconds ?? 3600) : nil, kind: kind?.rawValue, owner: owner,
                allowFullTunnel: req.allowFullTunnel ?? false, allowMesh: req.allowMesh ?? false)
            audit.append(AuditEntry(action: "token.create", objectType: "token", objectID: view.id, after: FerryStore.json(view)))
            return TokenCreated(token: view, secret: secret)
        }
    }

    /// Deleting the caller's own token needs `confirmSelf` (every later call would be 401);
    /// the last admin token is never deleted (only `ferryd token create` could recover).
    public func deleteToken(id: String, caller: Caller, confirmSelf: Bool = false) async throws {
        try await write(caller) { db, audit, _ in
            guard let row = try SQLRow.fetchOne(db, sql: "SELECT * FROM tokens WHERE id = ?", arguments: [id]) else {
                throw APIError.notFound("token \(id)")
            }
            if (row["scope"] as String) == Scope.admin.rawValue,
               try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM tokens WHERE scope = ?", arguments: [Scope.admin.rawValue]) ?? 0 <= 1 {
                throw APIError.conflict("id", "\(id) is the last admin token: create another admin token first")
            }
            if id == caller.tokenID, !confirmSelf {
                throw APIError.conflict("id", "\(id) is the token making this request; every later call with it would be refused: add ?confirm=self to delete it anyway")
            }
            let view = FerryStore.tokenView(row, segments: try FerryStore.context(db).segments)
            try db.execute(sql: "DELETE FROM tokens WHERE id = ?", arguments: [id])
            audit.append(AuditEntry(action: "token.delete", objectType: "token", objectID: id, before: FerryStore.json(view)))
        }
    }

    /// A new admin token outside the API (`ferryd token create`), audited as system:cli.
    public func createAdminToken(name: String) async throws -> String {
        let name = try Validate.name(name)
        let secret = TokenSecret.generate()
        try await write(.system("cli")) { db, audit, now in
            let view = try FerryStore.insertToken(db, name: name, scope: .admin, secret: secret, now: now, createdBy: "system:cli")
            audit.append(AuditEntry(action: "token.create", objectType: "token", objectID: view.id, after: FerryStore.json(view)))
        }
        return secret
    }

    /// Enrols a device with a single-use enrolment token: its public key only; returns its
    /// peer, its own device token and its network map.
    public func enroll(_ req: EnrollRequest, caller: Caller) async throws -> EnrollResponse {
        guard caller.scope == .enroll, !caller.tokenID.isEmpty else { throw APIError.forbidden("enrolment needs an enrolment token") }
        let name = try Validate.name(req.name ?? caller.name)
        let key = try Validate.publicKey(req.publicKey)
        if let usedAt = caller.usedAt { return try await EnrolmentRetry.repeatEnrolment(self, key: key, usedAt: usedAt, caller: caller) }
        let tunnel = try req.tunnel.map { s throws(APIError) in try Validate.enumValue(s, TunnelMode.self, field: "tunnel") } ?? .split
        guard let segment = caller.segmentName else { throw APIError.forbidden("this enrolment token has no segment") }
        // The admin decides what a device may have; the enrollee cannot ask for more.
        if tunnel == .full, !caller.allowFullTunnel {
            throw APIError.forbidden("this enrolment token does not allow a full tunnel; ask an admin for one made with allowFullTunnel (ferry tokens add --allow-full-tunnel), or enrol with a split tunnel")
        }
        if req.mesh == true, !caller.allowMesh {
            throw APIError.forbidden("this enrolment token does not allow mesh links; ask an admin for one made with allowMesh (ferry tokens add --allow-mesh), or enrol without --mesh")
        }
        let secret = TokenSecret.generate()
        return try await write(caller) { db, audit, now in
            try db.execute(sql: "UPDATE tokens SET used_at = ? WHERE id = ? AND used_at IS NULL", arguments: [now, caller.tokenID])
            guard db.changesCount == 1 else { throw APIError.unauthorized(EnrolmentRetry.spent(at: now)) }
            if try Bool.fetchOne(db, sql: "SELECT 1 FROM peers WHERE name = ?", arguments: [name]) ?? false {
                throw APIError.conflict("name", "a peer named \(name) exists; enrol under another name (ferry join --name NAME), or an admin removes the old peer first (ferry peers rm \(name)); this token stays unused")
            }
            var np = NewPeer(name: name, kind: caller.kind.flatMap { PeerKind(rawValue: $0) } ?? .device,
                             owner: caller.owner ?? caller.name, segmentName: segment, publicKey: key)
            np.tunnel = tunnel
            np.mesh = req.mesh ?? false
            return try FerryStore.enrolDevice(db, np, secret: secret, createdBy: caller.auditName, now: now, audit: &audit) { FerryStore.json($0) }
        }
    }

    /// Stores an enrolled device (`enroll`, and `login` with an ID token): the peer, its
    /// device token, its first map; `describe` writes the peer's audit record.
    static func enrolDevice(_ db: any SQLTransaction, _ np: NewPeer, secret: String, createdBy: String, now: Millis, audit: inout [AuditEntry],
                            describe: (PeerView) -> String) throws -> EnrollResponse {
        let r = try FerryStore.insertPeer(db, np, now: now, createdBy: createdBy)
        let view = try FerryStore.peerView(db, r)
        audit.append(AuditEntry(action: "peer.enroll", objectType: "peer", objectID: r.peer.id, peerID: r.peer.id, after: describe(view)))
        let token = try FerryStore.insertToken(db, name: "device-\(np.name)", scope: .device, secret: secret, now: now,
                                               createdBy: createdBy, peerID: r.peer.id)
        audit.append(AuditEntry(action: "token.create", objectType: "token", objectID: token.id, peerID: r.peer.id, after: FerryStore.json(token)))
        let map = PolicyCompiler(try FerryStore.topology(db)).networkMap(for: r.peer, at: now)
        return EnrollResponse(peer: view, deviceToken: secret, netmap: map)
    }

    // MARK: Audit

    public func audit(_ q: AuditQuery) async throws -> [AuditEventView] {
        try await read { db in
            var clauses: [String] = [], args: [(any SQLValueConvertible)?] = []
            if let s = q.since { clauses.append("at >= ?"); args.append(Int64(s.timeIntervalSince1970 * 1000)) }
            if let u = q.until { clauses.append("at < ?"); args.append(Int64(u.timeIntervalSince1970 * 1000)) }
            if let p = q.peer { clauses.append("peer_id = ?"); args.append(p) }
            if let a = q.actor { clauses.append("actor = ?"); args.append(a) }
            if let s = q.afterSeq { clauses.append("seq > ?"); args.append(s) }
            // An action or its family: `token` matches token.create and token.delete.
            if let a = q.action {
                let literal = a.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%").replacingOccurrences(of: "_", with: "\\_")
                clauses.append("(action = ? OR action LIKE ? ESCAPE '\\')"); args.append(a); args.append(literal + ".%")
            }
            var sql = "SELECT * FROM audit"
            if !clauses.isEmpty { sql += " WHERE " + clauses.joined(separator: " AND ") }
            sql += q.newestFirst ? " ORDER BY seq DESC" : " ORDER BY seq"
            if let l = q.limit { sql += " LIMIT \(max(1, min(l, 100_000)))" }
            return try SQLRow.fetchAll(db, sql: sql, arguments: SQLArguments(args)).map { row in
                func value(_ s: String?) -> JSONValue? { s.flatMap { try? JSONDecoder().decode(JSONValue.self, from: Data($0.utf8)) } }
                return AuditEventView(seq: row["seq"], at: Views.date(row["at"]), actor: row["actor"], action: row["action"],
                                      objectType: row["object_type"], objectID: row["object_id"], peer: row["peer_id"],
                                      before: value(row["before"]), after: value(row["after"]))
            }
        }
    }

    /// How many audit records there are (tests check that refused requests add none).
    public func auditCount() async throws -> Int {
        try await read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM audit") ?? 0 }
    }
}

/// Filters of the audit log: time range, peer, actor, records after a sequence number.
public struct AuditQuery: Sendable {
    public var since: Date?
    public var until: Date?
    public var peer: String?
    public var actor: String?
    public var afterSeq: Int64?
    public var limit: Int?
    /// The portal's filters: an action (or its family), newest records first.
    public var action: String? = nil
    public var newestFirst = false
    public init(since: Date? = nil, until: Date? = nil, peer: String? = nil, actor: String? = nil, afterSeq: Int64? = nil, limit: Int? = nil) {
        self.since = since; self.until = until; self.peer = peer; self.actor = actor; self.afterSeq = afterSeq; self.limit = limit
    }
}

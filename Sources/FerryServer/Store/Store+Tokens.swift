import FerryCore
import Foundation
import WireGuard

extension FerryStore {
    static func tokenView(_ t: TokenRecord, segments: [String: Segment]) -> TokenView {
        let enroll = t.scope == Scope.enroll.rawValue
        return TokenView(id: t.id, name: t.name, scope: t.scope, segment: t.segmentID.map { segments[$0]?.name ?? $0 },
                         maxTTLSeconds: t.maxTTL, peer: t.peerID, kind: t.kind, owner: t.owner,
                         expiresAt: t.expiresAt.map(Views.date), usedAt: t.usedAt.map(Views.date), createdAt: Views.date(t.createdAt),
                         createdBy: t.createdBy, allowFullTunnel: enroll ? t.allowFullTunnel : nil,
                         allowMesh: enroll ? t.allowMesh : nil)
    }

    @discardableResult
    static func insertToken(_ db: any StoreRepository, name: String, scope: Scope, secret: String, now: Millis, createdBy: String,
                            expiresAt: Millis? = nil, segmentID: String? = nil, maxTTL: Int? = nil, peerID: String? = nil,
                            kind: String? = nil, owner: String? = nil, allowFullTunnel: Bool = false, allowMesh: Bool = false,
                            id: String = IDs.make("tok")) throws -> TokenView {
        try db.insertToken(TokenRecord(id: id, name: name, scope: scope.rawValue, secretHash: TokenSecret.hash(secret), segmentID: segmentID,
                                       maxTTL: maxTTL, peerID: peerID, kind: kind, owner: owner, expiresAt: expiresAt, createdAt: now,
                                       createdBy: createdBy, allowFullTunnel: allowFullTunnel, allowMesh: allowMesh))
        guard let stored = try db.token(id: id) else { throw StoreError.corrupt("token") }
        return tokenView(stored, segments: try context(db).segments)
    }

    /// The caller behind a bearer secret; 401 for unknown, expired or used tokens.
    public func authenticate(_ secret: Substring) async throws -> Caller {
        guard TokenSecret.isWellFormed(secret) else { throw APIError.unauthorized("malformed bearer token") }
        let hash = TokenSecret.hash(String(secret))
        let now = clock.now()
        return try await read { db in
            guard let t = try db.token(secretHash: hash) else {
                throw try FerryStore.removedPeerError(db, hash: hash) ?? APIError.unauthorized("unknown bearer token")
            }
            if let e = t.expiresAt, e <= now { throw APIError.unauthorized("token expired") }
            if let usedAt = t.usedAt, now - usedAt > EnrolmentRetry.windowMs {
                throw APIError.unauthorized(EnrolmentRetry.spent(at: usedAt))
            }
            guard let scope = Scope(rawValue: t.scope) else { throw StoreError.corrupt("token scope") }
            return Caller(tokenID: t.id, name: t.name, scope: scope, segmentName: t.segmentName,
                          maxTTLSeconds: t.maxTTL, peerID: t.peerID, kind: t.kind, owner: t.owner,
                          allowFullTunnel: t.allowFullTunnel, allowMesh: t.allowMesh, usedAt: t.usedAt)
        }
    }

    public func tokens() async throws -> [TokenView] {
        try await read { db in
            let segs = try FerryStore.context(db).segments
            return try db.tokens().map { FerryStore.tokenView($0, segments: segs) }
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
                guard let seg = try db.segment(named: s) else { throw APIError.invalid("segment", "no segment named \(s)") }
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
            guard let token = try db.token(id: id) else {
                throw APIError.notFound("token \(id)")
            }
            if token.scope == Scope.admin.rawValue, try db.tokenCount(scope: .admin) <= 1 {
                throw APIError.conflict("id", "\(id) is the last admin token: create another admin token first")
            }
            if id == caller.tokenID, !confirmSelf {
                throw APIError.conflict("id", "\(id) is the token making this request; every later call with it would be refused: add ?confirm=self to delete it anyway")
            }
            let view = FerryStore.tokenView(token, segments: try FerryStore.context(db).segments)
            try db.deleteToken(id: id)
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
            guard try db.markTokenUsed(id: caller.tokenID, at: now) else { throw APIError.unauthorized(EnrolmentRetry.spent(at: now)) }
            if try db.peerExists(named: name) {
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
    static func enrolDevice(_ db: any StoreRepository, _ np: NewPeer, secret: String, createdBy: String, now: Millis, audit: inout [AuditEntry],
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
        try await read { try $0.audit(q) }
    }

    /// How many audit records there are (tests check that refused requests add none).
    public func auditCount() async throws -> Int {
        try await read { try $0.auditCount() }
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

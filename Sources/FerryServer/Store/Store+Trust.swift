import FerryCore
import Foundation
import WireGuard

/// A CI trust rule as stored and matched.
struct TrustRule: Sendable {
    var id: String
    var issuer: String
    var audience: String
    var claims: ClaimPatterns
    var segmentID: String
    var segmentName: String
    var maxTTL: Int
    var allowedIPs: [IPPrefix]?
    var createdAt: Millis
    var createdBy: String

    var view: TrustRuleView {
        TrustRuleView(id: id, issuer: issuer, audience: audience, claims: claims.patterns, segment: segmentName, maxTTLSeconds: maxTTL,
                      allowedIPs: allowedIPs?.map(\.description), createdAt: Views.date(createdAt), createdBy: createdBy)
    }
}

/// What the audit record of an exchanged peer says about the token behind it.
struct OIDCProvenance: Encodable, Sendable {
    var issuer: String
    var rule: String
    var subject: String?
    /// The rule's claims and the usual CI ones (repository, ref, run id), as the token had them.
    var claims: [String: String]
}

struct ExchangedPeerAudit: Encodable, Sendable {
    var peer: PeerView
    var oidc: OIDCProvenance
}

extension FerryStore {
    public func trustRules() async throws -> [TrustRuleView] {
        try await read { try $0.trustRules().map(\.view) }
    }

    /// The issuers some rule trusts (the verifier fetches nothing else).
    func trustedIssuers() async throws -> Set<String> {
        try await read { try $0.trustedIssuers() }
    }

    public func createTrustRule(_ req: CreateTrustRuleRequest, caller: Caller) async throws -> TrustRuleView {
        guard let url = URL(string: req.issuer), IssuerURL.isAcceptable(url), url.query == nil, url.fragment == nil else {
            throw APIError.invalid("issuer", "must be an https URL (http only on loopback), as the tokens' iss claim writes it")
        }
        let audience = try Validate.label(req.audience, field: "audience")
        if audience.isEmpty { throw APIError.invalid("audience", "must not be empty") }
        // A rule without a claim condition would trust every job of every customer of a
        // shared issuer such as GitHub's: at least one is required.
        guard !req.claims.isEmpty else { throw APIError.invalid("claims", "give at least one claim condition (e.g. repository=acme/api)") }
        let claims = try ClaimPatterns.validate(req.claims, field: "claims")
        let maxTTL = req.maxTTLSeconds ?? 3600
        guard (1...FerryStore.maxTTLSeconds).contains(maxTTL) else {
            throw APIError.invalid("maxTTLSeconds", "must be between 1 and \(FerryStore.maxTTLSeconds)")
        }
        let allowed = try req.allowedIPs.map { a throws(APIError) in try Validate.prefixes(a, field: "allowedIPs") }
        if allowed?.isEmpty == true { throw APIError.invalid("allowedIPs", "give at least one prefix, or leave the field out") }
        return try await write(caller) { db, audit, now in
            guard let seg = try db.segment(named: req.segment) else { throw APIError.invalid("segment", "no segment named \(req.segment)") }
            let rule = TrustRule(id: IDs.make("trust"), issuer: req.issuer, audience: audience, claims: claims, segmentID: seg.id,
                                 segmentName: seg.name, maxTTL: maxTTL, allowedIPs: allowed, createdAt: now, createdBy: caller.auditName)
            try db.insertTrustRule(rule)
            audit.append(AuditEntry(action: "trust.create", objectType: "trust_rule", objectID: rule.id, after: FerryStore.json(rule.view)))
            return rule.view
        }
    }

    public func deleteTrustRule(id: String, caller: Caller) async throws {
        try await write(caller) { db, audit, _ in
            guard let rule = try db.trustRules().first(where: { $0.id == id }) else { throw APIError.notFound("trust rule \(id)") }
            try db.deleteTrustRule(id: id)
            audit.append(AuditEntry(action: "trust.delete", objectType: "trust_rule", objectID: id, before: FerryStore.json(rule.view)))
        }
    }

    /// The rule that accepts a verified token: its audience first, then the claims; the most
    /// specific rule (most conditions) wins, the oldest among equals. A refusal names the
    /// token's own failing claim, never a rule's expected value.
    static func matchRule(_ rules: [TrustRule], _ jwt: JWT) throws(OIDCError) -> TrustRule {
        let iss = jwt.string("iss") ?? ""
        let forIssuer = rules.filter { $0.issuer == iss }
        let audiences = Set(jwt.audiences)
        let forAudience = forIssuer.filter { audiences.contains($0.audience) }
        guard !forAudience.isEmpty else { throw .wrongAudience(jwt.audiences) }
        var best: TrustRule?
        var nearest: (misses: Int, claim: String, value: String?)?
        for rule in forAudience {
            if let miss = rule.claims.firstMismatch(jwt) {
                let misses = rule.claims.patterns.keys.count { name in
                    !jwt.claimTexts(name).contains { ClaimPatterns.glob(rule.claims.patterns[name] ?? "", $0) }
                }
                if nearest.map({ misses < $0.misses }) ?? true { nearest = (misses, miss.claim, miss.value) }
            } else if best.map({ rule.claims.patterns.count > $0.claims.patterns.count }) ?? true {
                best = rule
            }
        }
        if let best { return best }
        throw .noMatchingRule(claim: nearest?.claim ?? "aud", value: nearest?.value)
    }

    /// Remembers an ID token until it expires (its `jti`, else the hash of the whole token)
    /// and refuses one seen before; in the transaction that uses it, so a failed use does
    /// not burn the token.
    static func useOnce(_ db: any StoreRepository, _ jwt: JWT, raw: String, leewaySeconds: Int64, now: Millis) throws {
        let iss = jwt.string("iss") ?? ""
        let key = jwt.string("jti").map { "jti:\(iss)#\($0)" } ?? "sha256:\(TokenSecret.hash(raw))"
        // exp is bounded (JWT.seconds drops |exp| >= 1e15); a year past now is as long as any
        // ID token lives, and keeps the product far from overflow.
        let until = (min(jwt.seconds("exp") ?? 0, now / 1000 + 366 * 86400) + leewaySeconds) * 1000
        guard try db.useIDTokenOnce(key: key, until: until, now: now) else { throw OIDCError.replay.apiError }
    }

    /// A job's ID token for an ephemeral peer: verified (signature, times), matched against
    /// the trust rules, used once; the peer gets the rule's segment, a TTL capped by the
    /// rule and allowed IPs narrowed by it, and a ci token bound to it alone.
    public func exchange(_ req: OIDCExchangeRequest, verifier: OIDCVerifier) async throws -> OIDCExchangeResponse {
        let key = try Validate.publicKey(req.publicKey)
        let askedName = try req.name.map { n throws(APIError) in try Validate.name(n) }
        if let t = req.ttlSeconds, !(1...FerryStore.maxTTLSeconds).contains(t) {
            throw APIError.invalid("ttlSeconds", "must be between 1 and \(FerryStore.maxTTLSeconds)")
        }
        let askedIPs = try req.allowedIPs.map { a throws(APIError) in try Validate.prefixes(a, field: "allowedIPs") }
        if askedIPs?.isEmpty == true { throw APIError.invalid("allowedIPs", "give at least one prefix, or leave the field out") }
        let rules = try await read { try $0.trustRules() }
        let issuers = Set(rules.map(\.issuer))
        let jwt: JWT, rule: TrustRule
        do {
            jwt = try await verifier.verify(req.idToken, trusted: { issuers.contains($0) }, nowMs: clock.now())
            rule = try FerryStore.matchRule(rules, jwt)
        } catch {
            throw error.apiError
        }
        var restrict = rule.allowedIPs
        if let askedIPs {
            if let ruleIPs = rule.allowedIPs, let outside = askedIPs.first(where: { a in !ruleIPs.contains { $0.contains(a) } }) {
                throw APIError.forbidden("allowedIPs: \(outside) is outside what this job may reach", field: "allowedIPs")
            }
            restrict = askedIPs
        }
        let narrowed = restrict
        let ttl = min(req.ttlSeconds ?? rule.maxTTL, rule.maxTTL)
        let iss = jwt.string("iss") ?? ""
        var shown: [String: String] = [:]
        for name in Set(rule.claims.patterns.keys).union(["repository", "ref", "run_id", "workflow", "project_path", "pipeline_id", "job_id"]) {
            if let v = jwt.claimText(name) { shown[name] = String(v.prefix(256)) }
        }
        let provenance = OIDCProvenance(issuer: iss, rule: rule.id, subject: jwt.string("sub"), claims: shown)
        let runID = (jwt.claimText("run_id") ?? jwt.claimText("job_id")).flatMap { try? Validate.name($0) }
        let name = askedName ?? "ci-\(runID ?? "oidc")-\(String(UInt32.random(in: 0...UInt32.max), radix: 36))"
        let owner = (try? Validate.label(String((jwt.string("sub") ?? iss).prefix(128)), field: "owner")) ?? "oidc"
        let secret = TokenSecret.generate()
        let tokenID = IDs.make("tok")
        let response = try await write(.system("oidc:\(rule.id)")) { db, audit, now in
            try FerryStore.useOnce(db, jwt, raw: req.idToken, leewaySeconds: verifier.leewaySeconds, now: now)
            var np = NewPeer(name: name, kind: .ci, owner: owner, segmentName: rule.segmentName, publicKey: key)
            np.ttlSeconds = ttl
            np.restrictTo = narrowed
            let r = try FerryStore.insertPeer(db, np, now: now, createdBy: "token:\(tokenID)")
            let view = try FerryStore.peerView(db, r)
            audit.append(AuditEntry(action: "peer.create", objectType: "peer", objectID: r.peer.id, peerID: r.peer.id,
                                    after: FerryStore.json(ExchangedPeerAudit(peer: view, oidc: provenance))))
            let token = try FerryStore.insertToken(db, name: "oidc-\(name)", scope: .ci, secret: secret, now: now, createdBy: "system:oidc:\(rule.id)",
                                                   expiresAt: r.peer.expiresAt, segmentID: rule.segmentID, maxTTL: ttl, peerID: r.peer.id, id: tokenID)
            audit.append(AuditEntry(action: "token.create", objectType: "token", objectID: token.id, peerID: r.peer.id, after: FerryStore.json(token)))
            return OIDCExchangeResponse(peer: view, token: secret, rule: rule.id)
        }
        metrics.ephemeralCreated.increment()
        return response
    }
}

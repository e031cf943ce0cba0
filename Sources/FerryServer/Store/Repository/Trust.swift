import FerryCore
import Foundation
import WireGuard

/// CI trust rules (OIDC exchange) and the ID tokens already used.
protocol TrustRepository: AnyObject {
    /// With each rule's segment name, ordered by creation.
    func trustRules() throws -> [TrustRule]
    func trustedIssuers() throws -> Set<String>
    func insertTrustRule(_ rule: TrustRule) throws
    func deleteTrustRule(id: String) throws
    /// Remembers a used ID token until `until`, forgetting those expired at `now`; false
    /// when it was already there (a replay).
    func useIDTokenOnce(key: String, until: Millis, now: Millis) throws -> Bool
}

extension SQLRepository: TrustRepository {
    func trustRules() throws -> [TrustRule] {
        try SQLRow.fetchAll(db, sql: """
            SELECT r.*, s.name AS segment_name FROM oidc_trust_rules r JOIN segments s ON s.id = r.segment_id ORDER BY r.created_at, r.id
            """).map { row in
            let id: String = row["id"]
            guard let claims = try? JSONDecoder().decode([String: String].self, from: Data((row["claims"] as String).utf8)) else {
                throw StoreError.corrupt("trust rule \(id) claims")
            }
            return TrustRule(id: id, issuer: row["issuer"], audience: row["audience"], claims: ClaimPatterns(claims),
                             segmentID: row["segment_id"], segmentName: row["segment_name"], maxTTL: row["max_ttl"],
                             allowedIPs: try Self.strings(row["allowed_ips"])?.map(Self.prefix), createdAt: row["created_at"],
                             createdBy: row["created_by"])
        }
    }

    func trustedIssuers() throws -> Set<String> {
        Set(try String.fetchAll(db, sql: "SELECT DISTINCT issuer FROM oidc_trust_rules"))
    }

    func insertTrustRule(_ rule: TrustRule) throws {
        try db.execute(sql: """
            INSERT INTO oidc_trust_rules (id, issuer, audience, claims, segment_id, max_ttl, allowed_ips, created_at, created_by)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, arguments: [rule.id, rule.issuer, rule.audience, CoordinatorService.json(rule.claims.patterns), rule.segmentID, rule.maxTTL,
                             rule.allowedIPs.map { Self.json($0.map(\.description)) }, rule.createdAt, rule.createdBy])
    }

    func deleteTrustRule(id: String) throws {
        try db.execute(sql: "DELETE FROM oidc_trust_rules WHERE id = ?", arguments: [id])
    }

    func useIDTokenOnce(key: String, until: Millis, now: Millis) throws -> Bool {
        try db.execute(sql: "DELETE FROM oidc_used_tokens WHERE expires_at < ?", arguments: [now])
        try db.execute(sql: "INSERT INTO oidc_used_tokens (key, expires_at) VALUES (?, ?) ON CONFLICT (key) DO NOTHING", arguments: [key, until])
        return db.changesCount == 1
    }
}

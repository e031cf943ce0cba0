/// The CI trust rules and the ID tokens already exchanged (kept until their expiry, so
/// a token works once).
enum OIDCMigration {
    static let name = "oidc-trust-rules"
    static let sql = """
        CREATE TABLE oidc_trust_rules (
            id TEXT PRIMARY KEY,
            issuer TEXT NOT NULL,
            audience TEXT NOT NULL,
            claims TEXT NOT NULL,
            segment_id TEXT NOT NULL REFERENCES segments(id),
            max_ttl INTEGER NOT NULL,
            allowed_ips TEXT,
            created_at INTEGER NOT NULL,
            created_by TEXT NOT NULL
        );
        CREATE INDEX oidc_trust_rules_issuer ON oidc_trust_rules(issuer);
        CREATE TABLE oidc_used_tokens (
            key TEXT PRIMARY KEY,
            expires_at INTEGER NOT NULL
        );
        CREATE INDEX oidc_used_tokens_expiry ON oidc_used_tokens(expires_at);
        """
}

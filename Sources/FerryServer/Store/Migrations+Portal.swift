/// The portal's tables (docs/portal.md): sign-ins under way (state, nonce and PKCE
/// verifier, used once), sessions (the cookie's secret stored as a SHA-256 only), and the
/// config each device was last given, to tell when its static config went stale.
enum PortalMigration {
    static let name = "portal-sessions"
    static let sql = """
        CREATE TABLE portal_logins (
            state_hash TEXT PRIMARY KEY,
            nonce TEXT NOT NULL,
            verifier TEXT NOT NULL,
            return_to TEXT NOT NULL,
            created_at INTEGER NOT NULL
        );
        CREATE TABLE portal_sessions (
            id TEXT PRIMARY KEY,
            secret_hash TEXT NOT NULL UNIQUE,
            csrf TEXT NOT NULL,
            person TEXT NOT NULL,
            subject TEXT,
            role TEXT NOT NULL,
            segment TEXT,
            method TEXT NOT NULL,
            token_id TEXT,
            created_at INTEGER NOT NULL,
            expires_at INTEGER NOT NULL,
            revoked_at INTEGER
        );
        CREATE INDEX portal_sessions_expiry ON portal_sessions(expires_at);
        CREATE TABLE portal_devices (
            peer_id TEXT PRIMARY KEY REFERENCES peers(id) ON DELETE CASCADE,
            config_hash TEXT NOT NULL,
            issued_at INTEGER NOT NULL
        );
        """
}

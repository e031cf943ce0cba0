import Foundation

/// The failover table (Store+Failover.swift, Repository/Gateways.swift), the same text for SQLite and PostgreSQL
/// (there INTEGER becomes BIGINT; `up` is 0/1 like every flag of the schema).
enum GatewayFailoverMigration {
    static let name = "gateway-failover"
    static let sql = """
        CREATE TABLE gateway_failover (
            peer_id TEXT PRIMARY KEY REFERENCES peers(id) ON DELETE CASCADE,
            priority INTEGER NOT NULL DEFAULT 100,
            up INTEGER NOT NULL DEFAULT 1,
            last_heartbeat INTEGER,
            alive_since INTEGER,
            changed_at INTEGER,
            observed TEXT
        );
        """
}

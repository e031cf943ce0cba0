import Logging
import PostgresNIO

/// The PostgreSQL schema: the same migrations, under the same names and in the same order,
/// as SQLite's (`FerryDatabase.migrator`), in PostgreSQL's dialect: INTEGER columns are
/// BIGINT (SQLite's integers are 64-bit), booleans stay integers 0/1 so the store's SQL is
/// one text for both. Applied names are kept in `ferry_migrations`; every replica runs
/// `migrate` at start under a session advisory lock, so one migrates while the others wait
/// and then find nothing left to do. Migrations only ever add, so replicas still running
/// the previous version keep working during a rolling upgrade.
enum PostgresMigrations {
    static let all: [(name: String, sql: String)] = [
        ("v1", """
        \(bigint(SharedSchema.v1Tables))
        CREATE TABLE policy_rules (
            id TEXT PRIMARY KEY,
            from_segment TEXT NOT NULL REFERENCES segments(id),
            to_segment TEXT REFERENCES segments(id),
            to_subnet TEXT,
            created_at BIGINT NOT NULL,
            CONSTRAINT policy_rules_one_target CHECK ((to_segment IS NULL) <> (to_subnet IS NULL)),
            CONSTRAINT policy_rules_unique UNIQUE (from_segment, to_segment, to_subnet)
        );
        CREATE TABLE audit (
            seq BIGINT PRIMARY KEY,
            at BIGINT NOT NULL,
            actor TEXT NOT NULL,
            action TEXT NOT NULL,
            object_type TEXT NOT NULL,
            object_id TEXT NOT NULL,
            peer_id TEXT,
            before TEXT,
            after TEXT
        );
        CREATE INDEX audit_at ON audit(at);
        CREATE INDEX audit_peer ON audit(peer_id);
        CREATE INDEX audit_actor ON audit(actor);
        CREATE FUNCTION ferry_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN RAISE EXCEPTION 'the audit log is append-only'; END $$;
        CREATE TRIGGER audit_no_update BEFORE UPDATE OR DELETE ON audit
            FOR EACH ROW EXECUTE FUNCTION ferry_audit_append_only();
        """),
        ("policy-ports-and-gateway-targets", """
        ALTER TABLE policy_rules ADD COLUMN to_gateway TEXT REFERENCES peers(id);
        ALTER TABLE policy_rules ADD COLUMN ports TEXT NOT NULL DEFAULT '';
        ALTER TABLE policy_rules DROP CONSTRAINT policy_rules_one_target;
        ALTER TABLE policy_rules DROP CONSTRAINT policy_rules_unique;
        ALTER TABLE policy_rules ADD CONSTRAINT policy_rules_one_target
            CHECK ((to_segment IS NOT NULL)::int + (to_subnet IS NOT NULL)::int + (to_gateway IS NOT NULL)::int = 1);
        ALTER TABLE policy_rules ADD CONSTRAINT policy_rules_unique UNIQUE (from_segment, to_segment, to_subnet, to_gateway, ports);
        """),
        ("enroll-token-grants", """
        ALTER TABLE tokens ADD COLUMN allow_full_tunnel BIGINT NOT NULL DEFAULT 0;
        ALTER TABLE tokens ADD COLUMN allow_mesh BIGINT NOT NULL DEFAULT 0;
        """),
        ("removed_tokens", """
        \(bigint(SharedSchema.removedTokens))
        """),
        ("dns-zone-and-records", """
        \(bigint(SharedSchema.dnsRecords))
        """),
        (OIDCMigration.name, bigint(OIDCMigration.sql)),
        (PortalMigration.name, bigint(PortalMigration.sql)),
        (GatewayFailoverMigration.name, bigint(GatewayFailoverMigration.sql)),
        ("mesh-candidates", "ALTER TABLE peers ADD COLUMN candidates TEXT;"),
        (TopologyChangesMigration.name, TopologyChangesMigration.postgres),
    ]

    /// SQLite's DDL for PostgreSQL: its 64-bit INTEGER is PostgreSQL's BIGINT.
    static func bigint(_ sql: String) -> String { sql.replacingOccurrences(of: "INTEGER", with: "BIGINT") }

    /// Applies what is missing, each migration in its own transaction, holding the
    /// migration lock throughout. A blocking call: only on the engine's threads.
    static func migrate(_ conn: PostgresConnection, logger: Logger) throws {
        let tx = PostgresTransaction(conn, logger: logger, instance: "", ownTail: TailMark())
        try tx.execute(sql: "SELECT pg_advisory_lock(?)", arguments: [PostgresEngine.migrationLockKey])
        defer { try? tx.execute(sql: "SELECT pg_advisory_unlock(?)", arguments: [PostgresEngine.migrationLockKey]) }
        try tx.execute(sql: "CREATE TABLE IF NOT EXISTS ferry_migrations (name TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())")
        let applied = Set(try String.fetchAll(tx, sql: "SELECT name FROM ferry_migrations"))
        let known = Set(all.map(\.name))
        if let unknown = applied.subtracting(known).first {
            // A newer ferryd migrated this database; this one may still serve it (migrations
            // only add), and must not try to apply anything.
            logger.notice("the database has a migration this ferryd does not know", metadata: ["migration": .string(unknown)])
        }
        for m in all where !applied.contains(m.name) {
            logger.info("applying migration", metadata: ["migration": .string(m.name)])
            try tx.execute(sql: "BEGIN")
            do {
                try tx.execute(sql: m.sql + "\n;")
                try tx.execute(sql: "INSERT INTO ferry_migrations (name) VALUES (?)", arguments: [m.name])
                try tx.execute(sql: "COMMIT")
            } catch {
                try? tx.execute(sql: "ROLLBACK")
                throw error
            }
        }
    }
}

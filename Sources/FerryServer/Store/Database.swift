import Foundation
import GRDB

/// Why the store refused to open or found its data unreadable.
public enum StoreError: Error, CustomStringConvertible, Sendable {
    case integrityCheckFailed([String])
    case corrupt(String)
    case noDatabase(String)

    public var description: String {
        switch self {
        case .integrityCheckFailed(let lines): "SQLite integrity check failed: \(lines.prefix(5).joined(separator: "; "))"
        case .corrupt(let what): "stored data unreadable: \(what)"
        case .noDatabase(let dir): "\(dir) holds no ferryd database (ferry.sqlite); give the --data folder ferryd serve uses"
        }
    }
}

/// Opening the SQLite database: WAL (a `DatabasePool`), synchronous=FULL so an
/// acknowledged write survives a crash or power loss, foreign keys on, migrations, and an
/// integrity check before anything is served.
public enum FerryDatabase {
    public static func open(path: String) throws -> any DatabaseWriter {
        var config = Configuration()
        config.foreignKeysEnabled = true
        config.busyMode = .timeout(10)
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        let pool = try DatabasePool(path: path, configuration: config)
        try prepare(pool)
        return pool
    }

    /// An in-memory database for tests (same schema, same code paths).
    public static func inMemory() throws -> any DatabaseWriter {
        var config = Configuration()
        config.foreignKeysEnabled = true
        let queue = try DatabaseQueue(configuration: config)
        try prepare(queue)
        return queue
    }

    static func prepare(_ db: any DatabaseWriter) throws {
        try migrator.migrate(db)
        let lines = try db.read { try String.fetchAll($0, sql: "PRAGMA integrity_check") }
        guard lines == ["ok"] else { throw StoreError.integrityCheckFailed(lines) }
    }

    /// Runs SQLite's integrity check; "ok" alone means the file is sound.
    public static func integrityCheck(_ db: any DatabaseReader) throws -> [String] {
        try db.read { try String.fetchAll($0, sql: "PRAGMA integrity_check") }
    }

    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1") { db in
            try db.execute(sql: """
            \(SharedSchema.v1Tables)
            CREATE TABLE policy_rules (
                id TEXT PRIMARY KEY,
                from_segment TEXT NOT NULL REFERENCES segments(id),
                to_segment TEXT REFERENCES segments(id),
                to_subnet TEXT,
                created_at INTEGER NOT NULL,
                CHECK ((to_segment IS NULL) <> (to_subnet IS NULL)),
                UNIQUE (from_segment, to_segment, to_subnet)
            );
            CREATE TABLE audit (
                seq INTEGER PRIMARY KEY AUTOINCREMENT,
                at INTEGER NOT NULL,
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
            CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
                BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
            CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
                BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
            """)
        }
        // Rules may target the gateway host and name ports. SQLite cannot change a CHECK, so
        // the table is rebuilt (nothing references it).
        m.registerMigration("policy-ports-and-gateway-targets") { db in
            try db.execute(sql: """
            CREATE TABLE policy_rules_new (
                id TEXT PRIMARY KEY,
                from_segment TEXT NOT NULL REFERENCES segments(id),
                to_segment TEXT REFERENCES segments(id),
                to_subnet TEXT,
                to_gateway TEXT REFERENCES peers(id),
                ports TEXT NOT NULL DEFAULT '',
                created_at INTEGER NOT NULL,
                CHECK ((to_segment IS NOT NULL) + (to_subnet IS NOT NULL) + (to_gateway IS NOT NULL) = 1),
                UNIQUE (from_segment, to_segment, to_subnet, to_gateway, ports)
            );
            INSERT INTO policy_rules_new (id, from_segment, to_segment, to_subnet, created_at)
                SELECT id, from_segment, to_segment, to_subnet, created_at FROM policy_rules;
            DROP TABLE policy_rules;
            ALTER TABLE policy_rules_new RENAME TO policy_rules;
            """)
        }
        // Enrolment tokens say whether their device may ask for a full tunnel or mesh links.
        // Tokens made before this grant neither (fail closed); mint new ones where needed.
        m.registerMigration("enroll-token-grants") { db in
            try db.execute(sql: """
            ALTER TABLE tokens ADD COLUMN allow_full_tunnel INTEGER NOT NULL DEFAULT 0;
            ALTER TABLE tokens ADD COLUMN allow_mesh INTEGER NOT NULL DEFAULT 0;
            """)
        }
        // The table behind `removedPeerError`.
        m.registerMigration("removed_tokens") { db in
            try db.execute(sql: """
                \(SharedSchema.removedTokens)
                """)
        }
        m.registerMigration("dns-zone-and-records") { db in
            try db.execute(sql: """
            \(SharedSchema.dnsRecords)
            """)
        }
        m.registerMigration(OIDCMigration.name) { db in try db.execute(sql: OIDCMigration.sql) }
        m.registerMigration(PortalMigration.name) { db in try db.execute(sql: PortalMigration.sql) }
        m.registerMigration(GatewayFailoverMigration.name) { db in try db.execute(sql: GatewayFailoverMigration.sql) }
        // Mesh candidates an agent reports (a JSON list of HOST:PORT; docs/mesh.md).
        m.registerMigration("mesh-candidates") { db in
            try db.execute(sql: "ALTER TABLE peers ADD COLUMN candidates TEXT")
        }
        m.registerMigration(TopologyChangesMigration.name) { db in
            try db.execute(sql: TopologyChangesMigration.sqlite { table in
                try String.fetchAll(db, sql: "SELECT name FROM pragma_table_info(?)", arguments: [table])
            })
        }
        return m
    }
}

/// The DDL both engines share word for word (PostgreSQL's copy has INTEGER as BIGINT, see
/// `PostgresMigrations.bigint`); what differs (constraints SQLite cannot alter, the audit
/// table's triggers) is written per engine.
enum SharedSchema {
    static let v1Tables = """
        CREATE TABLE network (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            name TEXT NOT NULL,
            ipv4 TEXT NOT NULL,
            ipv6 TEXT,
            dns TEXT NOT NULL DEFAULT '[]',
            mtu INTEGER NOT NULL,
            keepalive INTEGER NOT NULL,
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL
        );
        CREATE TABLE segments (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            ipv4 TEXT NOT NULL UNIQUE,
            next_address INTEGER,
            created_at INTEGER NOT NULL
        );
        CREATE TABLE peers (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            kind TEXT NOT NULL,
            owner TEXT NOT NULL,
            segment_id TEXT NOT NULL REFERENCES segments(id),
            ipv4 INTEGER NOT NULL UNIQUE,
            public_key TEXT NOT NULL UNIQUE,
            tunnel TEXT NOT NULL,
            dns TEXT,
            mtu INTEGER,
            keepalive INTEGER,
            mesh INTEGER NOT NULL,
            enabled INTEGER NOT NULL,
            restrict_to TEXT,
            expires_at INTEGER,
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL,
            created_by TEXT NOT NULL,
            reported_endpoint TEXT,
            seen_endpoint TEXT,
            rx_bytes INTEGER,
            tx_bytes INTEGER,
            latest_handshake INTEGER,
            reported_at INTEGER
        );
        CREATE INDEX peers_segment ON peers(segment_id);
        CREATE INDEX peers_expiry ON peers(expires_at) WHERE expires_at IS NOT NULL;
        CREATE TABLE gateways (
            peer_id TEXT PRIMARY KEY REFERENCES peers(id) ON DELETE CASCADE,
            endpoint TEXT NOT NULL,
            listen_port INTEGER NOT NULL,
            subnets TEXT NOT NULL,
            masquerade INTEGER NOT NULL,
            local INTEGER NOT NULL DEFAULT 0,
            key_rotated_at INTEGER
        );
        CREATE TABLE tokens (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            scope TEXT NOT NULL,
            secret_hash TEXT NOT NULL UNIQUE,
            segment_id TEXT REFERENCES segments(id),
            max_ttl INTEGER,
            peer_id TEXT REFERENCES peers(id) ON DELETE CASCADE,
            kind TEXT,
            owner TEXT,
            expires_at INTEGER,
            used_at INTEGER,
            created_at INTEGER NOT NULL,
            created_by TEXT NOT NULL
        );
        """
    static let removedTokens = """
        CREATE TABLE removed_tokens (
            secret_hash TEXT PRIMARY KEY,
            peer_id TEXT NOT NULL,
            peer_name TEXT NOT NULL,
            reason TEXT NOT NULL,
            removed_by TEXT NOT NULL,
            removed_at INTEGER NOT NULL
        );
        """
    static let dnsRecords = """
        ALTER TABLE network ADD COLUMN dns_zone TEXT;
        ALTER TABLE network ADD COLUMN dns_upstreams TEXT NOT NULL DEFAULT '[]';
        CREATE TABLE dns_records (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            type TEXT NOT NULL,
            value TEXT NOT NULL,
            ttl INTEGER NOT NULL,
            created_at INTEGER NOT NULL,
            UNIQUE (name, type, value)
        );
        CREATE INDEX dns_records_name ON dns_records(name);
        """
}

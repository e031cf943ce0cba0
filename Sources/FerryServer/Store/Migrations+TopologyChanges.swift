import FerryCore

/// The topology change log: every insert, update or delete of a row the policy compiler
/// reads appends (seq, kind, object_id) to `topology_changes`, by trigger, in the writing
/// transaction. A peer's row (and its gateway and failover rows) logs `peer` with the
/// peer's id; the network, segments and rules log `all`. The topology cache reads the log
/// after its last seq and reloads only the peers named (TopologyCache.swift).
///
/// Triggers, not the store's code, write it, so no write path can forget it, and a change
/// committed on another replica (or by an older ferryd during a rolling upgrade) is logged
/// the same way. `seq` is the last one plus one, like the audit sequence: writes are
/// serialized on both engines (PostgreSQL: the write lock), so the log is gap-free in
/// commit order, and a reader that finds a gap (pruned rows) knows it cannot patch. Each
/// append prunes what is `keep` rows behind, so the log stays small.
enum TopologyChangesMigration {
    static let name = "topology-changes"
    /// Rows kept: a cache further behind than this loads everything.
    static let keep = 50_000

    /// The tables the compiler reads: name, kind logged, the column holding the peer id,
    /// and the columns whose update is logged (nil: any). Segments: the compiler reads
    /// id, name and ipv4 only (`loadSegments`), and every peer creation moves the
    /// segment's `next_address`, which must not make it a full load.
    static let tables: [(table: String, kind: String, idColumn: String?, columns: [String]?)] = [
        ("peers", "peer", "id", nil), ("gateways", "peer", "peer_id", nil), ("gateway_failover", "peer", "peer_id", nil),
        ("network", "all", nil, nil), ("segments", "all", nil, ["id", "name", "ipv4"]), ("policy_rules", "all", nil, nil),
    ]

    /// Observations: columns the compiler never reads, written all the time (an agent's
    /// report every 30 s, a gateway's heartbeat every second). An update that changes only
    /// these is not logged, else at 10,000 agents the log would gain hundreds of rows a
    /// second and every change would become a full load. Every other column is logged
    /// when its value changes (a report that repeats the same endpoint logs nothing);
    /// `everyColumnIsLoggedOrAnObservation` fails when a new column is neither.
    static let observations: [String: [String]] = [
        "peers": ["rx_bytes", "tx_bytes", "latest_handshake", "reported_at"],
        "gateway_failover": ["last_heartbeat", "alive_since", "changed_at", "observed"],
    ]

    /// `UPDATE` or `UPDATE OF a, b` (the same in both dialects).
    static func update(_ columns: [String]?) -> String { columns.map { "UPDATE OF \($0.joined(separator: ", "))" } ?? "UPDATE" }

    /// SQLite's triggers; `columns(table)` lists a table's columns now (a trigger's WHEN
    /// must name the logged ones).
    static func sqlite(columns: (String) throws -> [String]) throws -> String {
        var sql = "CREATE TABLE topology_changes (seq INTEGER PRIMARY KEY, kind TEXT NOT NULL, object_id TEXT NOT NULL);\n"
        for t in tables {
            let skipped = Set(observations[t.table] ?? [])
            let logged = try columns(t.table).filter { !skipped.contains($0) }
            for (op, row) in [("insert", "NEW"), ("update", "NEW"), ("delete", "OLD")] {
                let id = t.idColumn.map { "\(row).\($0)" } ?? "''"
                let event = op == "update" ? update(t.columns) : op.uppercased()
                let when = op == "update" && !skipped.isEmpty
                    ? " WHEN " + logged.map { "OLD.\($0) IS NOT NEW.\($0)" }.joined(separator: " OR ") : ""
                sql += """
                    CREATE TRIGGER topology_changes_\(t.table)_\(op) AFTER \(event) ON \(t.table)\(when) BEGIN
                        INSERT INTO topology_changes (seq, kind, object_id)
                            VALUES ((SELECT COALESCE(MAX(seq), 0) + 1 FROM topology_changes), '\(t.kind)', \(id));
                        DELETE FROM topology_changes WHERE seq <= (SELECT MAX(seq) FROM topology_changes) - \(keep);
                    END;

                    """
            }
        }
        return sql
    }

    /// PostgreSQL's: one function; an update whose row differs only in observations (the
    /// rows as JSON without those keys are equal) logs nothing, whatever columns exist.
    static let postgres: String = {
        var sql = """
            CREATE TABLE topology_changes (seq BIGINT PRIMARY KEY, kind TEXT NOT NULL, object_id TEXT NOT NULL);
            CREATE FUNCTION ferry_topology_change() RETURNS trigger LANGUAGE plpgsql AS $$
                DECLARE next BIGINT; obj TEXT := '';
                BEGIN
                    IF TG_OP = 'UPDATE' AND TG_NARGS > 2
                       AND (to_jsonb(OLD) - TG_ARGV[2]::text[]) = (to_jsonb(NEW) - TG_ARGV[2]::text[]) THEN
                        RETURN NULL;
                    END IF;
                    IF TG_NARGS > 1 AND TG_ARGV[1] <> '' THEN
                        IF TG_OP = 'DELETE' THEN obj := to_jsonb(OLD) ->> TG_ARGV[1]; ELSE obj := to_jsonb(NEW) ->> TG_ARGV[1]; END IF;
                    END IF;
                    SELECT COALESCE(MAX(seq), 0) + 1 INTO next FROM topology_changes;
                    INSERT INTO topology_changes (seq, kind, object_id) VALUES (next, TG_ARGV[0], obj);
                    DELETE FROM topology_changes WHERE seq <= next - \(keep);
                    RETURN NULL;
                END $$;

            """
        for t in tables {
            var args = ["'\(t.kind)'", "'\(t.idColumn ?? "")'"]
            if let skipped = observations[t.table] { args.append("'{\(skipped.joined(separator: ","))}'") }
            sql += """
                CREATE TRIGGER topology_changes_\(t.table) AFTER INSERT OR \(update(t.columns)) OR DELETE ON \(t.table)
                    FOR EACH ROW EXECUTE FUNCTION ferry_topology_change(\(args.joined(separator: ", ")));

                """
        }
        return sql
    }()
}

import FerryCore
import Foundation
import WireGuard

/// The audit log: appended in the transaction of the change it describes, read by filters.
protocol AuditRepository: AnyObject {
    /// Appends one record with the next sequence number. Writes are serialized (one writer
    /// on SQLite, an advisory lock on PostgreSQL), so MAX(seq) + 1 is gap-free and in
    /// commit order.
    func appendAudit(_ e: AuditEntry, actor: String, at: Millis) throws
    func audit(_ q: AuditQuery) throws -> [AuditEventView]
    func auditCount() throws -> Int
    /// The highest sequence number (0 for an empty log).
    func lastAuditSeq() throws -> Int64
}

extension SQLRepository: AuditRepository {
    func appendAudit(_ e: AuditEntry, actor: String, at now: Millis) throws {
        try db.execute(sql: """
            INSERT INTO audit (seq, at, actor, action, object_type, object_id, peer_id, before, after)
            VALUES ((SELECT COALESCE(MAX(seq), 0) + 1 FROM audit), ?, ?, ?, ?, ?, ?, ?, ?)
            """, arguments: [now, actor, e.action, e.objectType, e.objectID, e.peerID, e.before, e.after])
    }

    func audit(_ q: AuditQuery) throws -> [AuditEventView] {
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

    func auditCount() throws -> Int {
        try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM audit") ?? 0
    }

    func lastAuditSeq() throws -> Int64 {
        try Int64.fetchOne(db, sql: "SELECT MAX(seq) FROM audit") ?? 0
    }
}

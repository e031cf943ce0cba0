import FerryCore

/// The change log through the repository (its SQL is here, beside the triggers).
protocol TopologyChangeRepository: AnyObject {
    /// The log's last seq (0 when empty).
    func topologySeq() throws -> Int64
    /// Up to `limit` entries after `seq`, in order.
    func topologyChanges(after seq: Int64, limit: Int) throws -> [(seq: Int64, kind: String, objectID: String)]
    /// The peers with these ids (those that exist).
    func peers(ids: [String]) throws -> [PeerRecord]
}

extension SQLRepository: TopologyChangeRepository {
    func topologySeq() throws -> Int64 {
        try Int64.fetchOne(db, sql: "SELECT COALESCE(MAX(seq), 0) FROM topology_changes") ?? 0
    }

    func topologyChanges(after seq: Int64, limit: Int) throws -> [(seq: Int64, kind: String, objectID: String)] {
        try SQLRow.fetchAll(db, sql: "SELECT seq, kind, object_id FROM topology_changes WHERE seq > ? ORDER BY seq LIMIT ?",
                            arguments: [seq, limit]).map { ($0["seq"], $0["kind"], $0["object_id"]) }
    }

    func peers(ids: [String]) throws -> [PeerRecord] {
        guard !ids.isEmpty else { return [] }
        let placeholders = Array(repeating: "?", count: ids.count).joined(separator: ", ")
        return try SQLRow.fetchAll(db, sql: "\(Self.peerSelect) WHERE p.id IN (\(placeholders))",
                                   arguments: SQLArguments(ids.map { $0 as (any SQLValueConvertible)? })).map(Self.peerRecord)
    }
}

extension SQLEngine {
    /// One read snapshot through the repository and the change log.
    func readTopology<T: Sendable>(_ body: @escaping @Sendable (any StoreRepository & TopologyChangeRepository) throws -> T) async throws -> T {
        let dialect = self.dialect
        return try await read { tx in try body(SQLRepository(tx, dialect: dialect)) }
    }
}

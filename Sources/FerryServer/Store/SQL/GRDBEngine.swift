import Foundation
import GRDB

/// The SQLite engine: GRDB's writer (one write transaction at a time, WAL readers beside it).
public struct GRDBEngine: SQLEngine {
    public let writer: any DatabaseWriter
    public var name: String { "sqlite" }

    public init(_ writer: any DatabaseWriter) { self.writer = writer }

    public func write<T: Sendable>(_ body: @escaping @Sendable (any SQLTransaction) throws -> T) async throws -> T {
        try await writer.write { db in try body(GRDBTransaction(db)) }
    }

    public func read<T: Sendable>(_ body: @escaping @Sendable (any SQLTransaction) throws -> T) async throws -> T {
        try await writer.read { db in try body(GRDBTransaction(db)) }
    }

    /// One process owns a SQLite file: every change is already seen in-process.
    public func watchChanges(_ onChange: @escaping @Sendable () -> Void) async {}

    public func close() async {}
}

/// A GRDB `Database` inside one transaction, seen through the seam.
final class GRDBTransaction: SQLTransaction {
    let db: Database

    init(_ db: Database) { self.db = db }

    static func arguments(_ a: SQLArguments) -> StatementArguments {
        StatementArguments(a.values.map { v -> (any DatabaseValueConvertible)? in
            switch v {
            case .null: nil
            case .integer(let i): i
            case .real(let d): d
            case .text(let s): s
            }
        })
    }

    func execute(sql: String, arguments: SQLArguments) throws {
        try db.execute(sql: sql, arguments: Self.arguments(arguments))
    }

    func fetchAll(sql: String, arguments: SQLArguments) throws -> [SQLRow] {
        var columns: SQLColumns?
        return try Row.fetchAll(db, sql: sql, arguments: Self.arguments(arguments)).map { row in
            let names = columns ?? SQLColumns(Array(row.columnNames))
            columns = names
            return SQLRow(columns: names, values: row.databaseValues.map { v in
                switch v.storage {
                case .null: .null
                case .int64(let i): .integer(i)
                case .double(let d): .real(d)
                case .string(let s): .text(s)
                case .blob(let b): .text(String(decoding: b, as: UTF8.self))
                }
            })
        }
    }

    var changesCount: Int { db.changesCount }

    func notifyCommit() throws {}
}

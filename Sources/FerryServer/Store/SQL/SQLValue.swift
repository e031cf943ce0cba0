import Foundation

/// The store's SQL seam: the few types the repository (`SQLRepository`) is written against,
/// so one statement runs unchanged on SQLite (GRDB) and on PostgreSQL (postgres-nio).
///
/// The column types both engines agree on: 64-bit integers (`INTEGER` in SQLite, `BIGINT`
/// in PostgreSQL), text, nullable; booleans are stored as the integers 0 and 1 in both, so
/// `WHERE enabled = 1` means the same everywhere. Reals exist for completeness.
public enum SQLValue: Sendable, Equatable, CustomStringConvertible {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)

    public var description: String {
        switch self {
        case .null: "NULL"
        case .integer(let i): "\(i)"
        case .real(let d): "\(d)"
        case .text(let s): "'\(s)'"
        }
    }
}

/// A Swift type stored in one column: how it is bound and how it is read back.
public protocol SQLValueConvertible: Sendable {
    var sqlValue: SQLValue { get }
    /// nil when the stored value is not of this type.
    static func fromSQL(_ value: SQLValue) -> Self?
}

extension Int64: SQLValueConvertible {
    public var sqlValue: SQLValue { .integer(self) }
    public static func fromSQL(_ value: SQLValue) -> Int64? {
        if case .integer(let i) = value { return i }
        return nil
    }
}

extension Int: SQLValueConvertible {
    public var sqlValue: SQLValue { .integer(Int64(self)) }
    public static func fromSQL(_ value: SQLValue) -> Int? {
        if case .integer(let i) = value { return Int(exactly: i) }
        return nil
    }
}

extension Bool: SQLValueConvertible {
    public var sqlValue: SQLValue { .integer(self ? 1 : 0) }
    public static func fromSQL(_ value: SQLValue) -> Bool? {
        if case .integer(let i) = value { return i != 0 }
        return nil
    }
}

extension Double: SQLValueConvertible {
    public var sqlValue: SQLValue { .real(self) }
    public static func fromSQL(_ value: SQLValue) -> Double? {
        switch value {
        case .real(let d): d
        case .integer(let i): Double(i)
        default: nil
        }
    }
}

extension String: SQLValueConvertible {
    public var sqlValue: SQLValue { .text(self) }
    public static func fromSQL(_ value: SQLValue) -> String? {
        if case .text(let s) = value { return s }
        return nil
    }
}

extension Optional: SQLValueConvertible where Wrapped: SQLValueConvertible {
    public var sqlValue: SQLValue { self?.sqlValue ?? .null }
    public static func fromSQL(_ value: SQLValue) -> Wrapped?? {
        if value == .null { return .some(nil) }
        return Wrapped.fromSQL(value).map { .some($0) }
    }
}

/// The values bound to a statement's `?` placeholders, in order.
public struct SQLArguments: Sendable, ExpressibleByArrayLiteral {
    public var values: [SQLValue]
    public init(_ values: [(any SQLValueConvertible)?]) { self.values = values.map { $0?.sqlValue ?? .null } }
    public init(arrayLiteral elements: (any SQLValueConvertible)?...) { self.init(elements) }
}

/// One result row: its values by column name (the first column of that name wins, as in
/// SQLite). Reading a column as the wrong type is a programming error, not a data error
/// callers could handle, and traps with the column's name, as GRDB's rows do; store code
/// reads columns of its own schema only.
public struct SQLRow: Sendable {
    public let columns: SQLColumns
    public let values: [SQLValue]

    public init(columns: SQLColumns, values: [SQLValue]) {
        self.columns = columns
        self.values = values
    }

    public func value(_ column: String) -> SQLValue? {
        columns.index[column].flatMap { $0 < values.count ? values[$0] : nil }
    }

    public subscript<T: SQLValueConvertible>(_ column: String) -> T {
        let v = value(column) ?? .null
        guard let t = T.fromSQL(v) else { preconditionFailure("column \(column) holds \(v), not \(T.self)") }
        return t
    }
}

/// The column names of a result, shared by its rows, with an index by name.
public final class SQLColumns: Sendable {
    public let names: [String]
    let index: [String: Int]

    public init(_ names: [String]) {
        self.names = names
        // The first column of a name wins (`p.*` and a joined `id`).
        index = Dictionary(names.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
    }
}

/// One open transaction: what a store body receives. Statements use `?` placeholders (the
/// PostgreSQL engine numbers them); a failed statement throws and the whole transaction
/// rolls back.
public protocol SQLTransaction: AnyObject {
    /// Runs one statement (several, separated by `;`, only without arguments).
    func execute(sql: String, arguments: SQLArguments) throws
    func fetchAll(sql: String, arguments: SQLArguments) throws -> [SQLRow]
    /// Rows changed by the last `execute` (conditional UPDATEs test this).
    var changesCount: Int { get }
    /// Tells the other processes on this database, once the transaction commits, that
    /// something changed (PostgreSQL: NOTIFY; SQLite: nothing, no other process serves it).
    func notifyCommit() throws
}

extension SQLTransaction {
    public func execute(sql: String) throws { try execute(sql: sql, arguments: []) }
}

extension SQLRow {
    public static func fetchAll(_ db: any SQLTransaction, sql: String, arguments: SQLArguments = []) throws -> [SQLRow] {
        try db.fetchAll(sql: sql, arguments: arguments)
    }

    public static func fetchOne(_ db: any SQLTransaction, sql: String, arguments: SQLArguments = []) throws -> SQLRow? {
        try db.fetchAll(sql: sql, arguments: arguments).first
    }
}

extension SQLValueConvertible {
    /// The first column of each row; NULLs and values of another type are skipped.
    public static func fetchAll(_ db: any SQLTransaction, sql: String, arguments: SQLArguments = []) throws -> [Self] {
        try db.fetchAll(sql: sql, arguments: arguments).compactMap { $0.values.first.flatMap(Self.fromSQL) }
    }

    /// The first column of the first row; nil without rows or for NULL.
    public static func fetchOne(_ db: any SQLTransaction, sql: String, arguments: SQLArguments = []) throws -> Self? {
        guard let v = try db.fetchAll(sql: sql, arguments: arguments).first?.values.first else { return nil }
        return Self.fromSQL(v)
    }
}

/// A database the store runs on. `write` bodies run in one transaction that is serialized
/// with every other write on this database, across every process using it (SQLite's single
/// writer; PostgreSQL: a transaction-scoped advisory lock taken first), so a body may read,
/// decide and write as if alone; `read` bodies see one consistent snapshot. Bodies are
/// synchronous and run on a thread that may block (never Swift's cooperative pool), and a
/// write body may be run again after a transient conflict, so it must have no effects
/// outside the transaction.
///
/// To add store code: add the data operation to the aggregate's repository protocol and
/// write it in `SQLRepository` (Store/Repository/) over `SQLTransaction`, with `?`
/// placeholders and the SQL both engines share (no `INSERT OR ...`: use `ON CONFLICT`);
/// the service calls it inside `CoordinatorService.write`/`read`. Add any schema change to
/// both migration lists (`FerryDatabase.migrator` for SQLite, `PostgresMigrations.all`).
public protocol SQLEngine: Sendable {
    /// "sqlite" or "postgres", for logs and tests.
    var name: String { get }
    func write<T: Sendable>(_ body: @escaping @Sendable (any SQLTransaction) throws -> T) async throws -> T
    func read<T: Sendable>(_ body: @escaping @Sendable (any SQLTransaction) throws -> T) async throws -> T
    /// Calls `onChange` when another process committed a change (PostgreSQL's NOTIFY), until
    /// the task is cancelled; SQLite has no other process and returns at once.
    func watchChanges(_ onChange: @escaping @Sendable () -> Void) async
    /// Closes connections; the engine is unusable afterwards.
    func close() async
}

import Foundation
import Logging
import NIOCore
import NIOPosix
import PostgresNIO
import Synchronization

/// The PostgreSQL engine (postgres-nio), for several ferryd replicas on one database.
///
/// Store bodies are synchronous, so each transaction runs on a thread of the engine's own
/// pools (8 for reads, 4 for writes; never Swift's cooperative pool) that sends statements and waits for their answers.
/// Every write transaction first takes one transaction-scoped advisory lock: writes are
/// serialized across all replicas as they are on SQLite, so the store's checks (name free,
/// address free, token unused, last admin token) hold at commit, and audit sequence numbers
/// are handed out in commit order without gaps (see `FerryStore.write`). The UNIQUE
/// constraints stay the last word. Reads run in REPEATABLE READ READ ONLY snapshots and
/// never wait for writers. A write that meets a serialization failure or a deadlock (which
/// the lock should rule out) is run again, up to 5 times.
public final class PostgresEngine: SQLEngine {
    public var name: String { "postgres" }
    /// The NOTIFY channel every committed change is announced on.
    static let channel = "ferry_changes"
    /// `pg_advisory_xact_lock` key of the write lock ("ferry").
    static let writeLockKey: Int64 = 0x6665_7272_79
    /// `pg_advisory_lock` key of migrations (one replica migrates, the others wait).
    static let migrationLockKey: Int64 = 0x6665_7272_7A
    /// How often the change watcher checks the audit tail when no notification came.
    static let safetyNetInterval: Duration = .seconds(2)

    let url: DatabaseURL
    let configuration: PostgresConnection.Configuration
    /// Reads and writes have threads of their own: writes queued on the write lock never
    /// hold every thread while reads (every request's authentication) wait.
    let readThreads: NIOThreadPool
    let writeThreads: NIOThreadPool
    let idle = Mutex<[PostgresConnection]>([])
    let nextID = Atomic<Int>(0)
    let logger: Logger
    /// This process's mark on its own notifications (it has woken its waiters already).
    let instance = UUID().uuidString
    /// The highest audit sequence number this replica's own writes reached: the safety net
    /// wakes waiters only for a tail beyond it (its own changes woke them already).
    let ownTail = TailMark()

    /// Connects, runs the migrations not yet applied (under a lock), and returns the engine.
    public static func open(_ url: DatabaseURL, maxConnections: Int = 8, logger: Logger) async throws -> PostgresEngine {
        let engine = try PostgresEngine(url: url, maxConnections: maxConnections, logger: logger)
        do {
            try await engine.onThread(engine.writeThreads) { conn in try PostgresMigrations.migrate(conn, logger: logger) }
        } catch {
            await engine.close()
            throw error
        }
        return engine
    }

    init(url: DatabaseURL, maxConnections: Int, logger: Logger) throws {
        self.url = url
        self.configuration = try url.configuration()
        self.readThreads = NIOThreadPool(numberOfThreads: max(1, maxConnections))
        self.writeThreads = NIOThreadPool(numberOfThreads: max(1, maxConnections / 2))
        self.readThreads.start()
        self.writeThreads.start()
        self.logger = logger
    }

    // MARK: Connections

    /// A blocking call: only on the engine's threads.
    func connect() throws -> PostgresConnection {
        let id = nextID.wrappingAdd(1, ordering: .relaxed).newValue
        do {
            return try PostgresConnection.connect(on: MultiThreadedEventLoopGroup.singleton.any(), configuration: configuration,
                                                  id: id, logger: logger).wait()
        } catch let e as PSQLError {
            if let tls = url.tlsFailure(e) { throw tls }
            throw PostgresStatementError(e, sql: "(connecting to \(url))")
        }
    }

    /// Runs `body` with a connection on one of the engine's threads; the connection goes back
    /// to the idle list unless it failed.
    func onThread<T: Sendable>(_ threads: NIOThreadPool, _ body: @escaping @Sendable (PostgresConnection) throws -> T) async throws -> T {
        try await threads.runIfActive { [self] in
            var conn = idle.withLock { $0.popLast() }
            if let c = conn, c.isClosed { conn = nil }
            let c = try conn ?? connect()
            do {
                let r = try body(c)
                idle.withLock { $0.append(c) }
                return r
            } catch {
                if c.isClosed { _ = try? c.close().wait() } else { idle.withLock { $0.append(c) } }
                throw error
            }
        }
    }

    // MARK: Transactions

    static let retriedStates: Set<String> = ["40001", "40P01"]

    static func sqlState(_ error: any Error) -> String? {
        (error as? PostgresStatementError)?.sqlState
    }

    public func write<T: Sendable>(_ body: @escaping @Sendable (any SQLTransaction) throws -> T) async throws -> T {
        var attempt = 0
        while true {
            attempt += 1
            do {
                return try await transaction(begin: "BEGIN ISOLATION LEVEL READ COMMITTED", lock: true, body)
            } catch where attempt < 5 && Self.sqlState(error).map(Self.retriedStates.contains) == true {
                logger.debug("retrying a write transaction", metadata: ["sqlstate": .string(Self.sqlState(error) ?? "")])
            }
        }
    }

    public func read<T: Sendable>(_ body: @escaping @Sendable (any SQLTransaction) throws -> T) async throws -> T {
        try await transaction(begin: "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", lock: false, body)
    }

    func transaction<T: Sendable>(begin: String, lock: Bool, _ body: @escaping @Sendable (any SQLTransaction) throws -> T)
        async throws -> T
    {
        let logger = logger, instance = instance, ownTail = ownTail
        return try await onThread(lock ? writeThreads : readThreads) { conn in
            let tx = PostgresTransaction(conn, logger: logger, instance: instance, ownTail: ownTail)
            try tx.execute(sql: begin)
            do {
                if lock { try tx.execute(sql: "SELECT pg_advisory_xact_lock(?)", arguments: [Self.writeLockKey]) }
                let r = try body(tx)
                try tx.execute(sql: "COMMIT")
                return r
            } catch {
                if !conn.isClosed { try? tx.execute(sql: "ROLLBACK") }
                throw error
            }
        }
    }

    // MARK: Changes from other replicas

    /// LISTENs on the change channel on a connection of its own (reconnecting after a
    /// second when it drops), and checks the audit tail every 2 s as a safety net for a
    /// notification lost with a connection.
    public func watchChanges(_ onChange: @escaping @Sendable () -> Void) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { [self] in
                var reconnect = false
                while !Task.isCancelled {
                    do {
                        let conn = try await PostgresConnection.connect(configuration: configuration, id: nextID.wrappingAdd(1, ordering: .relaxed).newValue,
                                                                        logger: logger)
                        defer { Task { try? await conn.close() } }
                        // A change may have been missed while no connection listened.
                        if reconnect { onChange() }
                        reconnect = true
                        try await conn.listen(on: Self.channel) { notifications in
                            for try await n in notifications where n.payload != instance { onChange() }
                        }
                    } catch where !Task.isCancelled {
                        logger.warning("listening for changes failed; reconnecting", metadata: ["error": .string("\(error)")])
                    } catch {}
                    try? await Task.sleep(for: .seconds(1))
                }
            }
            group.addTask { [self] in
                var last: Int64?
                while !Task.isCancelled {
                    try? await Task.sleep(for: Self.safetyNetInterval)
                    guard !Task.isCancelled else { break }
                    let tail = try? await read { try Int64.fetchOne($0, sql: "SELECT COALESCE(MAX(seq), 0) FROM audit") }
                    if let tail, let last, tail > max(last, ownTail.value.load(ordering: .relaxed)) { onChange() }
                    if let tail { last = tail }
                }
            }
        }
    }

    /// A dropped engine (a finished test's store) closes what it holds.
    deinit {
        // A connection must be closed before it is released (postgres-nio asserts it): the
        // completion handler holds it until then.
        for c in idle.withLock({ c in defer { c.removeAll() }; return c }) {
            let f: EventLoopFuture<Void> = c.close()
            f.whenComplete { _ in withExtendedLifetime(c) {} }
        }
        readThreads.shutdownGracefully { _ in }
        writeThreads.shutdownGracefully { _ in }
    }

    public func close() async {
        let conns = idle.withLock { c in defer { c.removeAll() }; return c }
        for c in conns { try? await c.close() }
        try? await readThreads.shutdownGracefully()
        try? await writeThreads.shutdownGracefully()
    }
}

/// One PostgreSQL transaction on one connection, driven from an engine thread.
final class PostgresTransaction: SQLTransaction {
    let conn: PostgresConnection
    let logger: Logger
    let instance: String
    let ownTail: TailMark
    private(set) var changesCount = 0

    init(_ conn: PostgresConnection, logger: Logger, instance: String, ownTail: TailMark) {
        self.conn = conn
        self.logger = logger
        self.instance = instance
        self.ownTail = ownTail
    }

    /// `?` placeholders numbered `$1`, `$2`, … (not inside quoted literals or identifiers).
    static func numbered(_ sql: String) -> String {
        var out = "", n = 0, quote: Character?
        out.reserveCapacity(sql.count + 8)
        for ch in sql {
            if let q = quote {
                if ch == q { quote = nil }
                out.append(ch)
            } else if ch == "'" || ch == "\"" {
                quote = ch
                out.append(ch)
            } else if ch == "?" {
                n += 1
                out += "$\(n)"
            } else {
                out.append(ch)
            }
        }
        return out
    }

    /// `sql` cut at each `;` outside quotes and `$$` bodies; empty statements dropped.
    static func statements(_ sql: String) -> [String] {
        var out: [String] = [], current = "", quote: Character?, dollar = false, previous: Character?
        for ch in sql {
            current.append(ch)
            if dollar {
                if ch == "$", previous == "$" { dollar = false; previous = nil; continue }
            } else if let q = quote {
                if ch == q { quote = nil }
            } else if ch == "'" || ch == "\"" {
                quote = ch
            } else if ch == "$", previous == "$" {
                dollar = true; previous = nil; continue
            } else if ch == ";" {
                current.removeLast()
                out.append(current)
                current = ""
            }
            previous = ch
        }
        out.append(current)
        return out.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.filter { !$0.isEmpty }
    }

    func run(_ sql: String, _ arguments: SQLArguments) throws -> PostgresQueryResult {
        var binds = PostgresBindings(capacity: arguments.values.count)
        for v in arguments.values {
            switch v {
            case .null: binds.appendNull()
            case .integer(let i): binds.append(i)
            case .real(let d): binds.append(d)
            case .text(let s): binds.append(s)
            }
        }
        do {
            return try conn.query(PostgresQuery(unsafeSQL: Self.numbered(sql), binds: binds), logger: logger).wait()
        } catch let e as PSQLError {
            throw PostgresStatementError(e, sql: sql)
        }
    }

    func execute(sql: String, arguments: SQLArguments) throws {
        if arguments.values.isEmpty, sql.contains(";") {
            // Several statements (migrations): postgres-nio speaks only the extended
            // protocol, which takes one statement at a time.
            for statement in Self.statements(sql) { _ = try run(statement, []) }
            changesCount = 0
            return
        }
        changesCount = try run(sql, arguments).metadata.rows ?? 0
    }

    func fetchAll(sql: String, arguments: SQLArguments) throws -> [SQLRow] {
        let result = try run(sql, arguments)
        var columns: SQLColumns?
        return try result.rows.map { row in
            var values: [SQLValue] = []
            var names: [String] = []
            for cell in row {
                if columns == nil { names.append(cell.columnName) }
                values.append(try Self.value(cell))
            }
            let shared = columns ?? SQLColumns(names)
            columns = shared
            return SQLRow(columns: shared, values: values)
        }
    }

    /// A cell as one of the seam's values: integers of every width, booleans as 0/1, text.
    static func value(_ cell: PostgresCell) throws -> SQLValue {
        guard cell.bytes != nil else { return .null }
        switch cell.dataType {
        case .int2, .int4, .int8: return .integer(try cell.decode(Int64.self))
        case .bool: return .integer(try cell.decode(Bool.self) ? 1 : 0)
        case .float4, .float8: return .real(try cell.decode(Double.self))
        case .numeric:
            let text = try cell.decode(String.self)
            if let i = Int64(text) { return .integer(i) }
            return .real(Double(text) ?? 0)
        default: return .text(try cell.decode(String.self))
        }
    }

    /// Announces the commit to the other replicas (delivered only if the transaction commits).
    func notifyCommit() throws {
        try execute(sql: "SELECT pg_notify(?, ?)", arguments: [PostgresEngine.channel, instance])
        if let seq = try Int64.fetchOne(self, sql: "SELECT COALESCE(MAX(seq), 0) FROM audit") {
            _ = ownTail.value.max(seq, ordering: .relaxed)
        }
    }
}

/// A sequence number shared between the engine and its transactions.
final class TailMark: Sendable {
    let value = Atomic<Int64>(0)
}

/// A failed statement with what the server said (postgres-nio's own description hides it,
/// in case it holds data; the store's messages hold none the log may not see).
public struct PostgresStatementError: Error, CustomStringConvertible {
    public let sqlState: String?
    public let message: String
    public let sql: String

    init(_ e: PSQLError, sql: String) {
        sqlState = e.serverInfo?[.sqlState]
        message = e.serverInfo?[.message] ?? "\(e.code)\(e.underlying.map { ": \($0)" } ?? "")"
        self.sql = sql
    }

    public var description: String {
        "PostgreSQL: \(message) (SQLSTATE \(sqlState ?? "none")) in: \(sql.prefix(200))"
    }
}

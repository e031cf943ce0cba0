import FerryCore
import Foundation
import WireGuard

/// The repository: the data operations the service layer (`CoordinatorService`) needs
/// inside one transaction, and nothing else. No rule lives here (no validation,
/// authorization, allocation policy or audit decision): each method reads or writes rows
/// and says what it found. One protocol per aggregate, each in its own file beside its SQL
/// (Repository/Peers.swift, Tokens.swift, ...); this is their sum.
///
/// A repository is bound to one open transaction: the service gets one from `read` and
/// `write` and never sees SQL. `SQLRepository` is the implementation, written once in the
/// SQL both engines share over `SQLTransaction`, so it runs on SQLite (GRDB) and on
/// PostgreSQL (postgres-nio) alike; were a statement to differ between them, it would branch
/// on `SQLRepository.dialect`, here, and nowhere in the service.
typealias StoreRepository = NetworkRepository & PeerRepository & GatewayRepository & TokenRepository & AuditRepository
    & TrustRepository & DNSRecordRepository & PortalRepository & ChangeSignal

/// Tells other processes on the same database that something changed, once the
/// transaction commits (PostgreSQL: NOTIFY to every replica; SQLite: nothing).
protocol ChangeSignal: AnyObject {
    func notifyCommit() throws
}

/// Which SQL a statement may use: both engines share every statement the repository has
/// today (`?` placeholders, `ON CONFLICT`, 0/1 flags); this is where one would branch.
enum SQLDialect: String, Sendable {
    case sqlite, postgres
}

/// The repository over one SQL transaction, on either engine.
final class SQLRepository: ChangeSignal {
    let db: any SQLTransaction
    let dialect: SQLDialect

    init(_ db: any SQLTransaction, dialect: SQLDialect = .sqlite) {
        self.db = db
        self.dialect = dialect
    }

    func notifyCommit() throws { try db.notifyCommit() }

    // MARK: Row decoding shared by the aggregates

    static func strings(_ text: String?) throws -> [String]? {
        guard let text else { return nil }
        guard let v = try? JSONDecoder().decode([String].self, from: Data(text.utf8)) else { throw StoreError.corrupt("list \(text)") }
        return v
    }

    static func prefix(_ s: String) throws -> IPPrefix {
        guard let p = IPPrefix(s) else { throw StoreError.corrupt("prefix \(s)") }
        return p
    }

    /// A list stored as a JSON array of strings.
    static func json(_ list: [String]) -> String {
        CoordinatorService.json(list)
    }
}

extension SQLEngine {
    var dialect: SQLDialect { SQLDialect(rawValue: name) ?? .sqlite }

    /// One write transaction seen through the repository.
    func writeRepository<T: Sendable>(_ body: @escaping @Sendable (any StoreRepository) throws -> T) async throws -> T {
        let dialect = self.dialect
        return try await write { tx in try body(SQLRepository(tx, dialect: dialect)) }
    }

    /// One consistent read snapshot seen through the repository.
    func readRepository<T: Sendable>(_ body: @escaping @Sendable (any StoreRepository) throws -> T) async throws -> T {
        let dialect = self.dialect
        return try await read { tx in try body(SQLRepository(tx, dialect: dialect)) }
    }
}

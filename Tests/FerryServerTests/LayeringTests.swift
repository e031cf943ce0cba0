import Foundation
import Testing

/// The service/repository split (docs/ARCHITECTURE.md, "Coordinator layers"): SQL lives in
/// the repository (Store/Repository/), the engines (Store/SQL/, Store/Postgres/) and the
/// migrations, and nowhere else; the service layer and the routes reach data only through
/// `StoreRepository`.
@Suite("Layering: no SQL outside the repository")
struct LayeringTests {
    /// Where SQL may be written, relative to the package root.
    static let sqlHomes = ["Sources/FerryServer/Store/Repository/", "Sources/FerryServer/Store/SQL/", "Sources/FerryServer/Store/Postgres/",
                           "Sources/FerryServer/Store/Database.swift", "Sources/FerryServer/Store/Migrations+"]

    /// A statement, or the seam a statement goes through.
    static func holdsSQL(_ line: Substring) -> Bool {
        // The cheap test first: the regex alone takes seconds over every source line.
        guard ["SELECT", "INSERT", "DELETE", "CONFLICT", "UPDATE", "sql:", "SQLRow", "SQLTransaction"].contains(where: { line.contains($0) })
        else { return false }
        return line.contains(#/\b(SELECT|INSERT INTO|DELETE FROM|ON CONFLICT)\s|\bUPDATE [a-z_]+ SET\b|\bsql:|\bSQLRow\b|\bSQLTransaction\b/#)
    }

    static func swiftFiles(under dir: String) throws -> [String] {
        let root = Binaries.packageRoot
        guard let walker = FileManager.default.enumerator(atPath: root.appendingPathComponent(dir).path) else { return [] }
        return walker.compactMap { $0 as? String }.filter { $0.hasSuffix(".swift") }.map { "\(dir)/\($0)" }
    }

    /// file:line of each line in `files` that holds SQL.
    static func sqlLines(_ files: [String]) throws -> [String] {
        var hits: [String] = []
        for file in files {
            let text = try String(contentsOf: Binaries.packageRoot.appendingPathComponent(file), encoding: .utf8)
            for (i, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() where holdsSQL(line) {
                hits.append("\(file):\(i + 1): \(line.trimmingCharacters(in: .whitespaces))")
            }
        }
        return hits
    }

    @Test("the service layer, the routes and the executables contain no SQL")
    func noSQLOutsideTheRepository() throws {
        let all = try Self.swiftFiles(under: "Sources")
        let outside = all.filter { f in !Self.sqlHomes.contains { f.hasPrefix($0) } }
        #expect(outside.contains("Sources/FerryServer/Store/Store+Peers.swift"), "the service files are among those checked")
        let hits = try Self.sqlLines(outside)
        #expect(hits.isEmpty, "SQL outside Store/Repository (move it into a repository method):\n\(hits.joined(separator: "\n"))")
    }

    @Test("the check finds the SQL the repository does hold")
    func theCheckSeesSQL() throws {
        let hits = try Self.sqlLines(["Sources/FerryServer/Store/Repository/Peers.swift", "Sources/FerryServer/Store/Repository/Tokens.swift"])
        #expect(hits.contains { $0.contains("SELECT") } && hits.contains { $0.contains("INSERT INTO") } && hits.contains { $0.contains("UPDATE peers SET") })
    }
}

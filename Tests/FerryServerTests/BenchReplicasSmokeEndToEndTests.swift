import FerryTestSupport
import Foundation
import Testing

/// scripts/bench-replicas.sh is a benchmark, not a test; this runs it with `--smoke` (a few
/// creations and wake rounds, SQLite and two replicas on PostgreSQL, the debug ferryd) so
/// that a change of the API or of ferryd's flags that breaks it is noticed. No figure is
/// checked: only that every request succeeded and the tables were printed. Like the
/// replica tests it needs PostgreSQL (scripts/install-test-deps.sh) and fails without it.
@Suite("bench-replicas.sh smoke run")
struct BenchReplicasSmokeEndToEndTests {
    @Test(.timeLimit(.minutes(3)))
    func smokeRun() async throws {
        let script = Binaries.packageRoot.appendingPathComponent("scripts/bench-replicas.sh").path
        let python = ProcessInfo.processInfo.environment["FERRY_TEST_PYTHON"] ?? "/var/tmp/ferry-test-venv/bin/python"
        // Awaited on a thread of its own: the cooperative pool stays free meanwhile.
        let r = try await BuiltProducts.run("/bin/bash", [script, "--smoke"],
                                            environment: ["FERRYD": Binaries.ferryd.path, "FERRY_TEST_PYTHON": python])
        print(r.stdout)
        #expect(r.status == 0, "\(r.stderr.suffix(3000))")
        let rows = r.stdout.split(separator: "\n").filter { $0.hasPrefix("| sqlite |") || $0.hasPrefix("| postgres |") }
        // Creations: SQLite and PostgreSQL with two replicas; wake: SQLite (same replica),
        // PostgreSQL (same and another replica).
        #expect(rows.count == 5, "\(r.stdout)")
        for row in rows where row.contains("| 4 | 20 |") {
            let cells = row.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            #expect(cells.count > 9 && cells[9] == "0", "failed creations: \(row)")
        }
        #expect(rows.filter { $0.contains("| 4 | 20 |") }.count == 2, "\(r.stdout)")
        #expect(rows.contains { $0.contains("another replica") }, "\(r.stdout)")
    }
}

@testable import FerryServer
import Foundation
import Testing

@Suite("OpenAPI document")
struct OpenAPITests {
    /// The paths and methods of docs/openapi.yaml, read with a small line scanner (paths
    /// at two spaces of indent, methods at four).
    static func documented(_ text: String) -> Set<String> {
        var out = Set<String>()
        var inPaths = false
        var current: String?
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line == "paths:" { inPaths = true; continue }
            if inPaths, let first = line.first, first != " ", first != "#" { inPaths = false }
            guard inPaths else { continue }
            if line.hasPrefix("  /"), !line.hasPrefix("   "), line.hasSuffix(":") { current = String(line.dropFirst(2).dropLast()); continue }
            if let current, line.hasPrefix("    "), !line.hasPrefix("     ") {
                let key = line.trimmingCharacters(in: .whitespaces).dropLast()
                if ["get", "post", "put", "patch", "delete"].contains(String(key)) { out.insert("\(key.uppercased()) \(current)") }
            }
        }
        return out
    }

    @Test(arguments: Engine.all) func everyRouteIsDocumentedAndNothingElse(engine: Engine) async throws {
        let text = try String(contentsOf: Binaries.packageRoot.appendingPathComponent("docs/openapi.yaml"), encoding: .utf8)
        let h = try await Harness.make(engine: engine)
        let (_, routes) = buildRouter(h.services)
        let served = Set(routes.map { "\($0.method) \($0.path)" })
        let documented = Self.documented(text)
        #expect(served.subtracting(documented).isEmpty, "routes missing from docs/openapi.yaml: \(served.subtracting(documented).sorted())")
        #expect(documented.subtracting(served).isEmpty, "documented but not served: \(documented.subtracting(served).sorted())")
        #expect(served.count > 30)
    }

    /// The response codes each documented operation lists ("POST /v1/peers" → ["201", ...]).
    static func responses(_ text: String) -> [String: Set<String>] {
        var out: [String: Set<String>] = [:]
        var path: String?, op: String?
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("  /"), !line.hasPrefix("   "), line.hasSuffix(":") { path = String(line.dropFirst(2).dropLast()); op = nil; continue }
            if line.hasPrefix("    "), !line.hasPrefix("     "), let path {
                let key = String(line.trimmingCharacters(in: .whitespaces).dropLast())
                op = ["get", "post", "put", "patch", "delete"].contains(key) ? "\(key.uppercased()) \(path)" : nil
                continue
            }
            if let op, line.hasPrefix("        \""), !line.hasPrefix("         ") {
                out[op, default: []].insert(String(line.dropFirst(9).prefix(3)))
            }
            if line == "components:" { break }
        }
        return out
    }

    /// Every write counts against a rate limit (a token's, or its source's without one),
    /// so every write's documented answers include 429.
    @Test func everyWriteDocumentsItsRateLimit() throws {
        let text = try String(contentsOf: Binaries.packageRoot.appendingPathComponent("docs/openapi.yaml"), encoding: .utf8)
        let ops = Self.responses(text)
        let writes = ops.filter { !$0.key.hasPrefix("GET ") }
        #expect(writes.count > 15)
        #expect(writes.filter { !$0.value.contains("429") }.keys.sorted() == [])
        #expect(ops["POST /v1/peers"]?.contains("201") == true)
    }

    @Test func servedDocumentIsTheRepositoryOne() throws {
        let text = try String(contentsOf: Binaries.packageRoot.appendingPathComponent("docs/openapi.yaml"), encoding: .utf8)
        #expect(OpenAPIDocument.text == text)
    }
}

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

    @Test func everyRouteIsDocumentedAndNothingElse() async throws {
        let text = try String(contentsOf: Binaries.packageRoot.appendingPathComponent("docs/openapi.yaml"), encoding: .utf8)
        let h = try await Harness.make()
        let (_, routes) = buildRouter(h.services)
        let served = Set(routes.map { "\($0.method) \($0.path)" })
        let documented = Self.documented(text)
        #expect(served.subtracting(documented).isEmpty, "routes missing from docs/openapi.yaml: \(served.subtracting(documented).sorted())")
        #expect(documented.subtracting(served).isEmpty, "documented but not served: \(documented.subtracting(served).sorted())")
        #expect(served.count > 30)
    }

    @Test func servedDocumentIsTheRepositoryOne() throws {
        let text = try String(contentsOf: Binaries.packageRoot.appendingPathComponent("docs/openapi.yaml"), encoding: .utf8)
        #expect(OpenAPIDocument.text == text)
    }
}

import FerryTestSupport
import Foundation
import Testing

/// The API driven from its own OpenAPI document by Schemathesis (property-based: requests
/// the document allows and requests it forbids, generated from the schemas), against a
/// real ferryd. Fails on any 5xx, any status, content type, header or body the document
/// does not describe, any forbidden request the server accepts, and any operation that
/// declares authentication but answers without it. A fixed seed and a small example count
/// keep it deterministic and short.
@Suite("OpenAPI property test (Schemathesis)")
struct OpenAPIPropertyTests {
    /// Schemathesis's `st` next to $FERRY_TEST_PYTHON (the test virtual environment).
    static let schemathesis: String? = {
        guard let python = ProcessInfo.processInfo.environment["FERRY_TEST_PYTHON"], !python.isEmpty else { return nil }
        let st = URL(fileURLWithPath: python).deletingLastPathComponent().appendingPathComponent("st").path
        return FileManager.default.isExecutableFile(atPath: st) ? st : nil
    }()

    static let available: Bool = {
        if schemathesis == nil {
            print("""
            ************************************************************************
            SKIPPED: the OpenAPI property test needs Schemathesis in the test virtual
            environment (scripts/install-test-deps.sh; FERRY_TEST_PYTHON, set by scripts/test.sh)
            ************************************************************************
            """)
        }
        return schemathesis != nil
    }()

    @Test(.enabled(if: available), .timeLimit(.minutes(3)))
    func theAPIDoesWhatItsDocumentSays() throws {
        let st = try #require(Self.schemathesis)
        // A burst large enough that the generated writes reach their handlers instead of
        // the rate limit (its 429 is documented and tested in LimitsRouterTests).
        let server = try FerrydServer(extra: ["--write-burst", "100000"])
        defer { server.stop() }
        let r = try BuiltProducts.run(st, [
            "run", "\(server.url)/openapi.yaml", "--experimental=openapi-3.1",
            "--checks", "all", "--data-generation-method", "all",
            "--hypothesis-seed", "20261205", "--hypothesis-max-examples", "12",
            "--header", "Authorization: Bearer \(server.adminToken)", "--no-color",
            "--hypothesis-database", "none",
            "--wait-for-schema", "30",
        ], environment: ["SCHEMATHESIS_TELEMETRY": "false", "HOME": NSTemporaryDirectory(),
                         // Hypothesis's caches go to a temporary folder, not the package root.
                         "HYPOTHESIS_STORAGE_DIRECTORY": NSTemporaryDirectory() + "ferry-hypothesis"])
        let tail = r.stdout.split(separator: "\n").suffix(80).joined(separator: "\n")
        #expect(r.status == 0, "Schemathesis found disagreements between the API and docs/openapi.yaml:\n\(tail)\n\(r.stderr)")
        #expect(r.stdout.contains("passed"), "\(tail)")
    }
}

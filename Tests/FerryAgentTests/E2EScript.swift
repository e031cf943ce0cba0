import FerryTestSupport
import Foundation
import Testing

/// Runs scripts/e2e/NAME with this build's ferryd, ferry and ferry-wg; exit 77 is a loud
/// skip (no root or tun), anything but 0 and the PASS line fails.
enum E2EScript {
    static func run(_ name: String, what: String, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let script = BuiltProducts.packageRoot.appendingPathComponent("scripts/e2e/\(name)").path
        let r = try await BuiltProducts.run("/bin/bash", [script, BuiltProducts.executable("ferryd").path,
                                                    BuiltProducts.executable("ferry").path, BuiltProducts.executable("ferry-wg").path])
        print(r.stdout + r.stderr)
        if r.status == 77 {
            print("SKIPPED (needs root and /dev/net/tun): \(what)")
            return
        }
        #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)", sourceLocation: sourceLocation)
        #expect(r.stdout.contains("PASS: \(what)"), sourceLocation: sourceLocation)
    }
}

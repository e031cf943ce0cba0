import FerryTestSupport
import Foundation
import Testing

/// Runs a scripts/e2e script with this build's ferryd, ferry and ferry-wg; exit 77 is a
/// loud SKIPPED line (no root, tun or tools), anything else must pass with `PASS: what`.
enum E2EScript {
    static func run(_ name: String, what: String) throws {
        let script = BuiltProducts.packageRoot.appendingPathComponent("scripts/e2e/\(name)").path
        let r = try BuiltProducts.run("/bin/bash", [script, BuiltProducts.executable("ferryd").path,
                                                    BuiltProducts.executable("ferry").path, BuiltProducts.executable("ferry-wg").path])
        print(r.stdout + r.stderr)
        if r.status == 77 {
            print("SKIPPED (needs root and /dev/net/tun, and the tools the script names): \(what)")
            return
        }
        #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
        #expect(r.stdout.contains("PASS: \(what)"))
    }
}

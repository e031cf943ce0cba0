import FerryTestSupport
import Foundation
import Testing

@Suite("Agent end to end (root, network namespaces)", .serialized)
struct AgentEndToEndTests {
    /// scripts/e2e/agent.sh with this build's ferryd, ferry and ferry-wg: ferryd hosting the
    /// gateway, two developers that join and come up, a CI job, policy, disable, TTL, ferryd
    /// killed and restarted. Prints a loud SKIPPED line without root or tun.
    @Test(.timeLimit(.minutes(5)))
    func agentEndToEnd() throws {
        let script = BuiltProducts.packageRoot.appendingPathComponent("scripts/e2e/agent.sh").path
        let r = try BuiltProducts.run("/bin/bash", [script, BuiltProducts.executable("ferryd").path,
                                                    BuiltProducts.executable("ferry").path, BuiltProducts.executable("ferry-wg").path])
        print(r.stdout + r.stderr)
        if r.status == 77 {
            print("SKIPPED (needs root and /dev/net/tun): agent end-to-end")
            return
        }
        #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
        #expect(r.stdout.contains("PASS: agent end-to-end"))
    }
}

import FerryTestSupport
import Foundation
import Testing

@Suite("Agent end to end (root, network namespaces)", .serialized)
struct AgentEndToEndTests {
    /// scripts/e2e/agent.sh with this build's ferryd, ferry and ferry-wg: ferryd hosting the
    /// gateway, two developers that join and come up, a CI job, policy, disable, TTL, ferryd
    /// killed and restarted. Prints a loud SKIPPED line without root or tun.
    @Test(.timeLimit(.minutes(5)))
    func agentEndToEnd() async throws {
        try await E2EScript.run("agent.sh", what: "agent end-to-end")
    }
}

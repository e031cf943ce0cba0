import FerryTestSupport
import Foundation
import Testing

@Suite("Coordinator replica failover end to end (root, network namespaces, PostgreSQL)", .serialized)
struct ReplicaFailoverEndToEndTests {
    /// scripts/e2e/replica-failover.sh with this build's ferryd, ferry and ferry-wg: two
    /// ferryd replicas on one PostgreSQL database the script starts, a remote gateway and an
    /// agent that know both; the replica they talk to SIGKILLed, then the other one hung
    /// (SIGSTOP). Both move within 5 s, the tunnel keeps working, and a map change made
    /// through the survivor reaches them. Prints a loud SKIPPED line without root or tun.
    @Test(.timeLimit(.minutes(5)))
    func agentAndGatewayFollowTheSurvivingReplica() async throws {
        try await E2EScript.run("replica-failover.sh", what: "coordinator replica failover end-to-end")
    }
}

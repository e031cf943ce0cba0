import FerryTestSupport
import Foundation
import Testing

@Suite("Gateway failover end to end (root, network namespaces)", .serialized)
struct FailoverEndToEndTests {
    /// scripts/e2e/failover.sh with this build's ferryd, ferry and ferry-wg: two remote
    /// gateways (`ferryd gateway`) for one subnet; the active one SIGKILLed, restarted, its
    /// link cut and restored; the client's traffic moves within 10 s and back once after
    /// the hold-down. Prints a loud SKIPPED line without root or tun.
    @Test(.timeLimit(.minutes(5)))
    func gatewayFailover() async throws {
        try await E2EScript.run("failover.sh", what: "gateway failover end-to-end")
    }
}

import FerryTestSupport
import Foundation
import Testing

@Suite("OIDC end to end (root, network namespaces, test issuer)", .serialized)
struct OIDCEndToEndTests {
    /// scripts/e2e/oidc.sh with this build's ferryd, ferry and ferry-wg and the test issuer
    /// (authlib): `ferry ci up --oidc` reaching the one allowed host, each refusal with its
    /// message, the TTL, and `ferry login` through the device grant then `ferry up`.
    /// Prints a loud SKIPPED line without root, tun or the test Python.
    @Test(.timeLimit(.minutes(5)))
    func keylessCIAndLogin() async throws {
        try await E2EScript.run("oidc.sh", what: "OIDC end-to-end")
    }
}

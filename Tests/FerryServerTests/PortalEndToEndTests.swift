import Foundation
import Testing

@Suite("Portal end to end (root, network namespaces, headless Chromium)")
struct PortalEndToEndTests {
    /// scripts/e2e/portal.sh against this build's ferryd: a developer signs in through the
    /// test provider in Chromium, adds a device (key pair in the browser), downloads its
    /// config and QR code (zbarimg), brings it up with wg-quick in a namespace and reaches
    /// a service behind the gateway; the private key is in no request, log or store file;
    /// an admin creates a segment and a rule through the preview; a CI peer's TTL runs out
    /// on the page. Screenshots in .build/artifacts/portal. Loud SKIPPED without root, tun,
    /// Chromium or the test venv.
    @Test(.timeLimit(.minutes(8)))
    func portalEndToEnd() async throws {
        try await runScript("portal.sh", pass: "PASS: portal end-to-end")
    }
}

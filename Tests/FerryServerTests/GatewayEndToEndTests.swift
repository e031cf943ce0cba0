import Foundation
import Testing

@Suite("Gateway end to end (root, network namespaces)", .serialized)
struct GatewayEndToEndTests {
    /// scripts/e2e/gateway.sh against this build's ferryd, with wg-quick clients on
    /// wireguard-go in their own namespaces: the gateway on wireguard-go driven over its
    /// UAPI socket, the same driven through wg(8) (as over the kernel module), and the
    /// gateway on this build's ferry-wg. Prints a loud SKIPPED line without root or tun.
    @Test(.timeLimit(.minutes(5)), arguments: [("uapi", "wireguard-go"), ("wg", "wireguard-go"), ("uapi", "ferry-wg")])
    func gatewayEndToEnd(backend: String, daemon: String) throws {
        let script = Binaries.packageRoot.appendingPathComponent("scripts/e2e/gateway.sh").path
        let gatewayWG = daemon == "ferry-wg" ? Binaries.ferryd.deletingLastPathComponent().appendingPathComponent("ferry-wg").path : daemon
        let (status, output) = try Binaries.run("/usr/bin/env", ["FERRY_WG_BACKEND=\(backend)", "GATEWAY_WG=\(gatewayWG)", "/bin/bash", script,
                                                                 Binaries.ferryd.path])
        print(output)
        if status == 77 {
            print("SKIPPED (needs root and /dev/net/tun): gateway end-to-end")
            return
        }
        #expect(status == 0, "\(output)")
        #expect(output.contains("PASS: gateway end-to-end (backend \(backend), gateway \(daemon))"))
    }
}

import Foundation
import Testing

@Suite("Gateway end to end (root, network namespaces)", .serialized)
struct GatewayEndToEndTests {
    /// scripts/e2e/gateway.sh against this build's ferryd: wireguard-go, nftables, wg-quick
    /// clients in their own namespaces; once driving the interface over the UAPI socket,
    /// once through wg(8) as over the kernel module. Prints a loud SKIPPED line without
    /// root or tun.
    @Test(.timeLimit(.minutes(5)), arguments: ["uapi", "wg"]) func gatewayOverWireguardGo(backend: String) throws {
        let script = Binaries.packageRoot.appendingPathComponent("scripts/e2e/gateway.sh").path
        let (status, output) = try Binaries.run("/usr/bin/env", ["FERRY_WG_BACKEND=\(backend)", "/bin/bash", script, Binaries.ferryd.path])
        print(output)
        if status == 77 {
            print("SKIPPED (needs root and /dev/net/tun): gateway end-to-end")
            return
        }
        #expect(status == 0, "\(output)")
        #expect(output.contains("PASS: gateway end-to-end (backend \(backend))"))
    }
}

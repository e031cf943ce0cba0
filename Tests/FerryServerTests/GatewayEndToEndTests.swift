import Foundation
import Testing

@Suite("Gateway end to end (root, network namespaces)", .serialized)
struct GatewayEndToEndTests {
    /// scripts/e2e/gateway.sh against this build's ferryd: wireguard-go, nftables, wg-quick
    /// clients in their own namespaces. Prints a loud SKIPPED line without root or tun.
    @Test(.timeLimit(.minutes(5))) func gatewayOverWireguardGo() throws {
        let script = Binaries.packageRoot.appendingPathComponent("scripts/e2e/gateway.sh").path
        let (status, output) = try Binaries.run("/bin/bash", [script, Binaries.ferryd.path])
        print(output)
        if status == 77 {
            print("SKIPPED (needs root and /dev/net/tun): gateway end-to-end")
            return
        }
        #expect(status == 0, "\(output)")
        #expect(output.contains("PASS: gateway end-to-end"))
    }
}

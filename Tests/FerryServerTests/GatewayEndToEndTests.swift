import Foundation
import Testing

@Suite("Gateway end to end (root, network namespaces)", .serialized)
struct GatewayEndToEndTests {
    /// scripts/e2e/gateway.sh against this build's ferryd, with wg-quick clients on
    /// wireguard-go in their own namespaces: the gateway on wireguard-go driven over its
    /// UAPI socket, the same driven through wg(8) (as over the kernel module), and the
    /// gateway on this build's ferry-wg. Prints a loud SKIPPED line without root or tun.
    @Test(.timeLimit(.minutes(5)), arguments: [("uapi", "wireguard-go"), ("wg", "wireguard-go"), ("uapi", "ferry-wg")])
    func gatewayEndToEnd(backend: String, daemon: String) async throws {
        let gatewayWG = daemon == "ferry-wg" ? Binaries.ferryd.deletingLastPathComponent().appendingPathComponent("ferry-wg").path : daemon
        try await runScript("gateway.sh", env: ["FERRY_WG_BACKEND=\(backend)", "GATEWAY_WG=\(gatewayWG)"],
                      pass: "PASS: gateway end-to-end (backend \(backend), gateway \(daemon))")
    }
}

/// Runs scripts/e2e/NAME against this build's ferryd: exit 0 and the PASS line, or 77
/// (printed as a loud SKIPPED line) without root or tun.
func runScript(_ name: String, env: [String] = [], pass: String) async throws {
    let script = Binaries.packageRoot.appendingPathComponent("scripts/e2e/\(name)").path
    let (status, output) = try await Binaries.run("/usr/bin/env", env + ["/bin/bash", script, Binaries.ferryd.path])
    print(output)
    if status == 77 {
        print("SKIPPED (needs root and /dev/net/tun): \(name)")
        return
    }
    #expect(status == 0, "\(output)")
    #expect(output.contains(pass))
}

@Suite("Least privilege at every moment (root, network namespaces)")
struct EnforcementEndToEndTests {
    /// scripts/e2e/enforcement.sh against this build's ferryd: fail closed when nft fails,
    /// ports and the gateway host in policy, drift repaired with no packet through, the TTL
    /// enforced by the kernel while ferryd is killed, concurrent key rotations consistent.
    @Test(.timeLimit(.minutes(5)))
    func enforcementEndToEnd() async throws {
        try await runScript("enforcement.sh", pass: "PASS: enforcement end-to-end")
    }
}

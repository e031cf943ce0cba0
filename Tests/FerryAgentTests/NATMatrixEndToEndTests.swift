import Testing

@Suite struct NATMatrixEndToEndTests {
    /// scripts/e2e/nat.sh with this build's ferryd, ferry and ferry-wg: two NAT routers
    /// (iptables MASQUERADE, and --random-fully for symmetric-like mappings), five mesh
    /// agents; cone cells direct within 5 s, symmetric x symmetric relayed through the
    /// gateway within 10 s carrying iperf3 TCP, then direct without the flow breaking when
    /// both NATs become endpoint-independent (docs/mesh.md).
    @Test func natMatrix() async throws {
        try await E2EScript.run("nat.sh", what: "NAT matrix")
    }
}

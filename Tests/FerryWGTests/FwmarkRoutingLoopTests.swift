import FerryTestSupport
import Foundation
import Testing

/// A tunnel whose endpoint is routed into itself (issue 13): the peer's outer address is in
/// its allowed IPs and the route to it leads into the WireGuard interface.
///
/// - Without an fwmark rule, ferry-wg's own datagrams come back from the TUN: it drops them
///   (as the kernel module, "Avoiding routing loop"), logs it, stays up, and spins nothing.
/// - With the fwmark set on the sockets and wg-quick's rule (`not fwmark M table M`, the
///   tunnel's route in table M), both implementations carry traffic, also to the endpoint's
///   own address through the tunnel.
@Suite(.serialized, .needsRootAndFerryWG)
struct FwmarkRoutingLoopTests {
    /// Puts B's outer address into A's allowed IPs for B, and routes it into A's interface
    /// (in `table`, or the main table).
    private func routeEndpointIntoTunnel(_ tunnel: Tunnel, table: String? = nil) throws {
        try tunnel.a.wg(["set", tunnel.a.name, "peer", tunnel.b.publicKey.base64, "allowed-ips",
                         "\(Tunnel.innerB[0])/32,\(Tunnel.innerB[1])/128,\(Tunnel.outerB[0])/32"])
        try tunnel.left.exec(["ip", "route", "add", Tunnel.outerB[0] + "/32", "dev", tunnel.a.name] + (table.map { ["table", $0] } ?? []))
    }

    @Test func ownDatagramsRoutedIntoTheTunnelDoNotLoop() throws {
        let tunnel = try Tunnel(.ferry, .wireguardGo, endpointsKnownBy: [.a])
        defer { tunnel.close() }
        // A session first: with one, every datagram that comes back would be sealed again.
        try tunnel.ping(from: .a, family: 0, count: 1)
        try routeEndpointIntoTunnel(tunnel)
        let pid = tunnel.a.process.process.processIdentifier
        let before = try tunnel.a.linkStatistics()
        // The ping's datagram to 192.168.50.2 enters wg again.
        _ = try? tunnel.left.exec(["ping", "-c", "2", "-i", "0.5", "-W", "1", Tunnel.innerB[0]])
        let cpuBefore = Processes.cpuSeconds(of: pid)
        usleep(2_000_000)
        let cpu = Processes.cpuSeconds(of: pid) - cpuBefore
        let after = try tunnel.a.linkStatistics()
        let read = after.txPackets - before.txPackets  // packets the kernel gave the TUN
        print("FwmarkRoutingLoop: without a rule, \(read) packets read from the TUN, \(cpu) s of CPU in 2 s after")
        #expect(tunnel.a.process.isRunning, "ferry-wg died: \(tunnel.a.process.output.suffix(2000))")
        #expect(tunnel.a.process.output.contains("Avoiding routing loop"))
        // 2 pings, each back once. Without the check each went round about 22 times, growing by
        // 60 bytes a turn until it no longer fit the MTU (46 packets measured).
        #expect(read <= 8, "the loop went on: \(read) packets")
        #expect(cpu < 0.5, "ferry-wg spun: \(cpu) s of CPU in 2 s")
        // The route removed, the tunnel works at once.
        try tunnel.left.exec(["ip", "route", "del", Tunnel.outerB[0] + "/32", "dev", tunnel.a.name])
        try tunnel.ping(from: .a, family: 0, count: 1)
    }

    @Test(arguments: Implementation.allCases)
    func fwmarkKeepsTheTunnelsOwnDatagramsOut(_ implementation: Implementation) throws {
        let tunnel = try Tunnel(implementation, implementation.other, endpointsKnownBy: [.a])
        defer { tunnel.close() }
        let mark = "51820"
        try tunnel.a.wg(["set", tunnel.a.name, "fwmark", mark])
        try tunnel.left.exec(["ip", "rule", "add", "not", "fwmark", mark, "table", mark, "priority", "100"])
        try routeEndpointIntoTunnel(tunnel, table: mark)
        #expect(try tunnel.a.wg(["show", tunnel.a.name, "fwmark"]).trimmingCharacters(in: .whitespacesAndNewlines) == "0xca6c")
        // Through the tunnel: the inner address, and the endpoint's own address (routed into
        // the tunnel for everything but the marked sockets).
        try tunnel.ping(from: .a, family: 0, count: 1)
        let out = try tunnel.left.exec(["ping", "-c", "1", "-W", "2", Tunnel.outerB[0]])
        #expect(out.contains("1 received"))
        let peer = try tunnel.b.peer(tunnel.a.publicKey)
        #expect((peer?.rx ?? 0) > 0)
        #expect(tunnel.a.process.isRunning)
    }
}

import FerryTestSupport
import Foundation
import Testing

/// Roaming (whitepaper §2.1): one side's outer address changes while iperf3 runs through
/// the tunnel; the other side follows the newest authenticated source address and the
/// transfer goes on.
@Suite(.serialized, .needsRootAndFerryWG)
struct RoamingTests {
    @Test(arguments: Implementation.allCases)
    func transferContinuesWhenOneSideMoves(roamer: Implementation) throws {
        let tunnel = try Tunnel(roamer, roamer.other)
        defer { tunnel.close() }
        try tunnel.ping(from: .a, family: 0, count: 1)
        // a (the roamer) sends; b follows it.
        let transfer = try Iperf(server: tunnel.right, address: Tunnel.innerB[0], client: tunnel.left, seconds: 6)
        usleep(1_500_000)
        let moved = "192.168.50.11"
        // Keep the new (secondary) address when the old primary one goes.
        try tunnel.left.exec(["sysctl", "-qw", "net.ipv4.conf.\(tunnel.leftLink).promote_secondaries=1"])
        try tunnel.left.exec(["ip", "addr", "add", moved + "/24", "dev", tunnel.leftLink])
        try tunnel.left.exec(["ip", "addr", "del", Tunnel.outerA[0] + "/24", "dev", tunnel.leftLink])
        var port = Tunnel.port
        if roamer == .wireguardGo {
            // wireguard-go 0.0.20220316 keeps sending from the vanished address (the kernel
            // answers ENETUNREACH, and it clears its sticky source only on EINVAL) until a
            // rebind clears it: move its port too. ferry-wg gets over it by itself.
            port += 1
            try tunnel.a.wg(["set", tunnel.a.name, "listen-port", "\(port)"])
        }
        let result = try transfer.finish()
        print("iperf3 across the move (\(roamer) roams): \(result)")
        #expect(result.receivedBytes > 0)
        // Data again by the end (a loaded machine may stall TCP for a retransmission timeout
        // or two around the move; a daemon that does not follow never recovers).
        let diagnosis = "b's peers: \((try? tunnel.b.peers()) ?? []); a says: \(tunnel.a.process.output.suffix(1500)); "
            + "b says: \(tunnel.b.process.output.suffix(1500))"
        #expect((result.intervalBytes.last ?? 0) > 0, "no traffic after the move: \(result); \(diagnosis)")
        let followed = try #require(try tunnel.b.peer(tunnel.a.publicKey))
        #expect(followed.endpoint == "\(moved):\(port)")
        try tunnel.ping(from: .b, family: 1)
    }
}

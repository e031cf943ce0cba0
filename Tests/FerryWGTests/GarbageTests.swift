import FerryTestSupport
import Foundation
import Testing
import WireGuard

/// 100,000 garbage datagrams at ferry-wg's listen port (IPv4 and IPv6) while iperf3 runs
/// through its tunnel with wireguard-go: random bytes of every length 0–1500, random
/// messages of the exact handshake, cookie and transport sizes, truncated and bit-flipped
/// real handshake initiations, and unmodified ones from a key it does not know. No crash,
/// no second without data in the transfers, and the tunnel works afterwards.
@Suite(.serialized, .needsRootAndFerryWG)
struct GarbageTests {
    @Test func hundredThousandGarbageDatagramsDuringATransfer() throws {
        let tunnel = try Tunnel(.ferry, .wireguardGo)
        defer { tunnel.close() }
        try tunnel.ping(from: .b, family: 0, count: 1)
        let ferryPID = tunnel.a.process.process.processIdentifier
        let real = Garbage.initiations(to: tunnel.a.publicKey, count: 32)
        try #require(real.count == 32 && real.allSatisfy { $0.count == 148 })
        let senders = [try UDPSender(in: tunnel.right, to: Tunnel.outerA[0], port: Tunnel.port),
                       try UDPSender(in: tunnel.right, to: Tunnel.outerA[1], port: Tunnel.port)]

        // A transfer runs 8 s; 1.5 s into it the garbage starts, spread over 5 s at least: a
        // flood that lasts outlives TCP's first retransmissions, so a data path it starves
        // shows as seconds without data.
        let transfer = try Iperf(server: tunnel.left, address: Tunnel.innerA[0], client: tunnel.right, seconds: 8)
        usleep(1_500_000)
        let flood = Garbage.flood(senders, count: 100_000, seconds: 5) { n, rng in Garbage.datagram(n, real: real, using: &rng) }
        print("sent \(flood)")
        let result = try transfer.finish()
        print("iperf3 through ferry-wg during the garbage: \(result)")
        // Established sessions go on during the flood (TESTING.md): no second without data.
        #expect(result.receivedBytes > 0 && result.intervalBytes.count >= 8 && result.intervalBytes.allSatisfy { $0 > 0 },
                "the transfer stalled: \(result)")
        #expect(tunnel.a.process.isRunning, "ferry-wg died: \(tunnel.a.process.output.suffix(2000))")
        #expect(Processes.resources(of: ferryPID).threads > 0)
        // The tunnel still works, both ways and both families, and so does a new handshake.
        for family in 0..<2 {
            try tunnel.ping(from: .a, family: family)
            try tunnel.ping(from: .b, family: family)
        }
        try tunnel.b.removePeer(tunnel.a.publicKey)
        try tunnel.b.addPeer(tunnel.a.publicKey, allowedIPs: [Tunnel.innerA[0] + "/32"], endpoint: Tunnel.endpoint(Tunnel.outerA, .ipv4))
        try tunnel.ping(from: .b, family: 0)
    }
}

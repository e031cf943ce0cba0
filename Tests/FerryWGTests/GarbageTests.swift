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
    /// Real handshake initiations for `responder` (valid mac1), each from a new unknown key.
    static func initiations(to responder: PublicKey, count: Int) -> [[UInt8]] {
        (0..<count).compactMap { _ in
            var device = Device(privateKey: PrivateKey.generate(), rng: SystemRandomNumberGenerator())
            guard let peer = device.addPeer(responder) else { return nil }
            device.setEndpoint(Endpoint("192.168.50.1:51820"), for: peer)
            nonisolated(unsafe) var captured: [UInt8]?
            device.setPersistentKeepalive(25, for: peer, now: Instant(nanoseconds: 1_000_000_000)) { bytes, _ in
                captured = Array(bytes)
            }
            return captured
        }
    }

    /// Random bytes to cut garbage from (generating each datagram byte by byte would take
    /// longer than the transfer it is meant to disturb).
    static let noise: [UInt8] = {
        var bytes = [UInt8](repeating: 0, count: 1 << 16)
        let handle = FileHandle(forReadingAtPath: "/dev/urandom")
        if let data = try? handle?.read(upToCount: bytes.count) { bytes = Array(data) }
        return bytes
    }()

    /// The `n`th garbage datagram.
    static func garbage(_ n: Int, real: [[UInt8]], using rng: inout some RandomNumberGenerator) -> [UInt8] {
        func random(_ count: Int) -> [UInt8] {
            let start = Int.random(in: 0...(noise.count - count), using: &rng)
            return Array(noise[start..<(start + count)])
        }
        // Mostly handshake-shaped: those reach the handshake queue, where a flood does harm.
        switch n % 8 {
        case 0:  // anything, of any length
            return random(Int.random(in: 0...1500, using: &rng))
        case 1:  // a message type and the exact size of that message, the rest random
            let (type, size): (UInt8, Int) = [(1, 148), (2, 92), (3, 64), (4, 32 + 16 * Int.random(in: 0...80, using: &rng))]
                .randomElement(using: &rng)!
            return [type, 0, 0, 0] + random(size - 4)
        case 2:  // a real initiation cut short (or with bytes added)
            let message = real.randomElement(using: &rng)!
            let cut = Int.random(in: 0...(message.count + 16), using: &rng)
            return cut <= message.count ? Array(message.prefix(cut)) : message + random(cut - message.count)
        case 3, 4:  // a real initiation with one to three bits flipped
            var message = real.randomElement(using: &rng)!
            for _ in 0..<Int.random(in: 1...3, using: &rng) {
                message[Int.random(in: 0..<message.count, using: &rng)] ^= 1 << UInt8.random(in: 0...7, using: &rng)
            }
            return message
        default:  // a real initiation from a stranger (valid mac1: it costs the daemon a DH)
            return real.randomElement(using: &rng)!
        }
    }

    @Test func hundredThousandGarbageDatagramsDuringATransfer() throws {
        let tunnel = try Tunnel(.ferry, .wireguardGo)
        defer { tunnel.close() }
        try tunnel.ping(from: .b, family: 0, count: 1)
        let ferryPID = tunnel.a.process.process.processIdentifier
        let real = GarbageTests.initiations(to: tunnel.a.publicKey, count: 32)
        try #require(real.count == 32 && real.allSatisfy { $0.count == 148 })
        let senders = [try UDPSender(in: tunnel.right, to: Tunnel.outerA[0], port: Tunnel.port),
                       try UDPSender(in: tunnel.right, to: Tunnel.outerA[1], port: Tunnel.port)]

        // A transfer runs 8 s; 1.5 s into it the garbage starts, spread over 5 s at least: a
        // flood that lasts outlives TCP's first retransmissions, so a data path it starves
        // shows as seconds without data.
        let transfer = try Iperf(server: tunnel.left, address: Tunnel.innerA[0], client: tunnel.right, seconds: 8)
        usleep(1_500_000)
        var rng = SystemRandomNumberGenerator()
        var refused = 0
        let start = Date()
        for n in 0..<100_000 {
            if !senders[n % 2].send(GarbageTests.garbage(n, real: real, using: &rng)) { refused += 1 }
            let due = start.addingTimeInterval(5 * Double(n) / 100_000)
            if n % 500 == 0, due > Date() { usleep(UInt32(due.timeIntervalSinceNow * 1_000_000)) }
        }
        print("sent 100,000 garbage datagrams in \(Int(Date().timeIntervalSince(start) * 1000)) ms (\(refused) refused by the sender's kernel)")
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

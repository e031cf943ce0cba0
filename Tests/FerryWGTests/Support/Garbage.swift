import Foundation
import WireGuard

/// Datagrams a WireGuard daemon must survive, and a paced flood of them.
enum Garbage {
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
    static func datagram(_ n: Int, real: [[UInt8]], using rng: inout some RandomNumberGenerator) -> [UInt8] {
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

    /// What a flood did.
    struct Flood: CustomStringConvertible {
        var count: Int
        var refused: Int
        var seconds: Double
        var description: String { "\(count) garbage datagrams in \(Int(seconds * 1000)) ms (\(refused) refused by the sender's kernel)" }
    }

    /// Sends `count` datagrams made by `make`, alternating between `senders`, in bursts of
    /// `burst` spread over `seconds` at least (longer when this machine cannot keep up).
    static func flood(_ senders: [UDPSender], count: Int, seconds: Double, burst: Int = 500,
                      _ make: (Int, inout SystemRandomNumberGenerator) -> [UInt8]) -> Flood {
        var rng = SystemRandomNumberGenerator()
        var refused = 0
        let start = Date()
        for n in 0..<count {
            if !senders[n % senders.count].send(make(n, &rng)) { refused += 1 }
            let due = start.addingTimeInterval(seconds * Double(n + 1) / Double(count))
            if n % burst == burst - 1, due > Date() { usleep(UInt32(due.timeIntervalSinceNow * 1_000_000)) }
        }
        return Flood(count: count, refused: refused, seconds: Date().timeIntervalSince(start))
    }
}

import FerryTestSupport
import Foundation
import Testing

/// A handshake flood does not keep a legitimate peer from connecting (TESTING.md): while a
/// third host sends ferry-wg bursts of initiations from unknown keys (valid mac1, so each
/// would cost a DH), wireguard-go makes its first handshake. ferry-wg, under load, answers it
/// with a cookie reply; wireguard-go retries with mac2 and gets in.
///
/// The bursts (150 every 200 ms) come from one address, so the receivers' per-source limit
/// (HandshakeAdmission) lets 20 a second of them reach the cookie checks and the handshake
/// worker: ferry-wg is seldom under load and wireguard-go usually gets in at once. If it
/// does meet the device under load, it gets a cookie reply and its retry with mac2 gets in
/// (`HandshakeFloodFullRateTests` is the flood at full rate).
@Suite(.serialized, .needsRootAndFerryWG)
struct HandshakeFloodTests {
    @Test func legitimatePeerConnectsDuringAFloodOfInitiations() throws {
        let tunnel = try Tunnel(.ferry, .wireguardGo, endpointsKnownBy: [.b])
        let attacker = try NetworkNamespace(prefix: "fat")
        defer {
            tunnel.close()
            attacker.close()
        }
        _ = try tunnel.left.link(to: attacker, address: "192.168.51.1/24", peerAddress: "192.168.51.2/24")
        let real = Garbage.initiations(to: tunnel.a.publicKey, count: 64)
        let sender = try UDPSender(in: attacker, to: "192.168.51.1", port: Tunnel.port)

        // 10 s of bursts; wireguard-go's first initiation goes out 1 s into them, its retry
        // (with the cookie's mac2) 5 s later: both well inside.
        nonisolated(unsafe) var flood: Garbage.Flood?
        let done = DispatchSemaphore(value: 0)
        Thread {
            flood = Garbage.flood([sender], count: 7_500, seconds: 10, burst: 150) { n, _ in real[n % real.count] }
            done.signal()
        }.start()
        usleep(1_000_000)
        let start = Date()
        let pinged = Result { try tunnel.ping(from: .b, family: 0, count: 1) }
        let connectedAfter = Date().timeIntervalSince(start)
        done.wait()
        print("sent \(flood.map { "\($0)" } ?? "nothing"); wireguard-go connected after \(Int(connectedAfter * 1000)) ms")
        #expect(throws: Never.self) { try pinged.get() }
        #expect(flood.map { connectedAfter < $0.seconds - 1 } ?? false, "the handshake was not made during the flood")
        let log = tunnel.a.process.output
        // The receivers answer the flood with cookie replies outside the lock, so the queue
        // may never hold enough for "under load" when wireguard-go's first initiation comes:
        // then it gets in at once. If it needed its retry, that was for a cookie.
        if connectedAfter >= 4 {
            #expect(log.contains("Under load: sent cookie reply to \(Tunnel.outerB[0])"), "ferry-wg never asked wireguard-go for a cookie")
        }
        #expect(log.contains("Handshake message from \(Tunnel.outerB[0]):\(Tunnel.port) consumed"))
        #expect(tunnel.a.process.isRunning)
        if ProcessInfo.processInfo.environment["FLOOD_DEBUG"] != nil {
            print(tunnel.a.process.output.split(separator: "\n").filter { $0.contains("192.168.50.2") || !$0.contains("192.168.51.2") }.joined(separator: "\n"))
            print("---- wireguard-go")
            print(tunnel.b.process.output)
        }
    }
}

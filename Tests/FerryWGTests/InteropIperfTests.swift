import FerryTestSupport
import Testing

/// iperf3 TCP and UDP through a ferry-wg ↔ wireguard-go tunnel, in both directions.
@Suite(.serialized, .needsRootAndFerryWG)
struct InteropIperfTests {
    @Test(arguments: [false, true])
    func tcpAndUDPBothDirections(ferryIsServer: Bool) throws {
        let tunnel = try Tunnel(.ferry, .wireguardGo)
        defer { tunnel.close() }
        // a is ferry-wg on the left; the server side receives when not reversed.
        let (server, address, client) = ferryIsServer
            ? (tunnel.left, Tunnel.innerA[0], tunnel.right) : (tunnel.right, Tunnel.innerB[0], tunnel.left)
        for reverse in [false, true] {
            let tcp = try Iperf.run(server: server, address: address, client: client, reverse: reverse)
            print("iperf3 TCP ferry-wg \(ferryIsServer != reverse ? "receives" : "sends"): \(tcp)")
            #expect(tcp.receivedBytes > 1_000_000 && tcp.receivedBytes <= tcp.sentBytes, "TCP reverse=\(reverse): \(tcp)")
            let udp = try Iperf.run(server: server, address: address, client: client, udp: true, rate: "10M", reverse: reverse)
            print("iperf3 UDP ferry-wg \(ferryIsServer != reverse ? "receives" : "sends"): \(udp)")
            // Some loss is UDP's right on a busy 2-core machine; most must arrive.
            #expect(udp.receivedBytes > 1_000_000 && udp.lostPercent < 25, "UDP reverse=\(reverse): \(udp)")
        }
    }
}

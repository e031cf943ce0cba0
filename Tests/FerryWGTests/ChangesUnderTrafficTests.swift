import FerryTestSupport
import Foundation
import Testing

/// Changes a kernel-grade conformance suite makes while traffic flows: the MTU of the
/// interface, and the allowed IPs of the peer (replaced with the same, narrowed so the
/// peer's address is no longer routed, restored).
@Suite(.serialized, .needsRootAndFerryWG)
struct ChangesUnderTrafficTests {
    @Test func mtuChangesDuringATransfer() throws {
        let tunnel = try Tunnel(.ferry, .wireguardGo)
        defer { tunnel.close() }
        try tunnel.ping(from: .a, family: 0, count: 1)
        let transfer = try Iperf(server: tunnel.right, address: Tunnel.innerB[0], client: tunnel.left, seconds: 3)
        for mtu in [1280, 1380, 1420] {
            usleep(600_000)
            try tunnel.left.exec(["ip", "link", "set", tunnel.a.name, "mtu", "\(mtu)"])
        }
        let result = try transfer.finish()
        print("iperf3 across MTU changes: \(result)")
        #expect(result.receivedBytes > 0)
        #expect((result.intervalBytes.last ?? 0) > 0, "no data after the MTU changes: \(result)")
        // Full-size packets of the new MTU pass unfragmented (DF set).
        try tunnel.left.exec(["ip", "link", "set", tunnel.a.name, "mtu", "1280"])
        try tunnel.ns(.a).exec(["ping", "-c", "2", "-i", "0.2", "-W", "2", "-M", "do", "-s", "\(1280 - 28)", Tunnel.innerB[0]])
        #expect(waitUntil(timeout: 5) { tunnel.a.process.output.contains("MTU updated: 1280") })
    }

    @Test func allowedIPsChangeUnderTraffic() throws {
        let tunnel = try Tunnel(.ferry, .wireguardGo)
        defer { tunnel.close() }
        try tunnel.ping(from: .a, family: 0, count: 1)
        let b = tunnel.b.publicKey.base64, name = tunnel.a.name
        let transfer = try Iperf(server: tunnel.right, address: Tunnel.innerB[0], client: tunnel.left, seconds: 3)
        // Replaced with the same set, and with more, many times while data flows.
        for i in 0..<20 {
            let extra = i % 2 == 0 ? ",10.99.\(i).0/24" : ""
            try tunnel.a.wg(["set", name, "peer", b, "allowed-ips", "\(Tunnel.innerB[0])/32,\(Tunnel.innerB[1])/128\(extra)"])
            usleep(100_000)
        }
        let result = try transfer.finish()
        print("iperf3 across allowed-IPs changes: \(result)")
        #expect(result.intervalBytes.allSatisfy { $0 > 0 }, "a second without data: \(result)")
        // Narrowed: b's address no longer belongs to b, so nothing goes (no route to it) and
        // what b sends from it is dropped by the reverse-path check.
        try tunnel.a.wg(["set", name, "peer", b, "allowed-ips", "\(Tunnel.innerB[1])/128"])
        #expect(throws: (any Error).self) {
            try tunnel.ns(.b).exec(["ping", "-c", "2", "-i", "0.2", "-W", "1", "-w", "2", Tunnel.innerA[0]])
        }
        try tunnel.a.wg(["set", name, "peer", b, "allowed-ips", "\(Tunnel.innerB[0])/32,\(Tunnel.innerB[1])/128"])
        try tunnel.ping(from: .b, family: 0, count: 2)
    }
}

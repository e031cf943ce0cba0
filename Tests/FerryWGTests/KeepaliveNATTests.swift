import FerryTestSupport
import Foundation
import Testing

/// Persistent keepalive through a NAT: the inside peer (PersistentKeepalive = 1) sits
/// behind a namespace doing iptables MASQUERADE; the outside peer has no endpoint for it
/// and no route to it. The keepalive makes the handshake, the outside peer learns the NAT's
/// address from it and can then reach the inside, and the keepalives keep coming.
///
///     inside: wg 10.60.0.1 ── 172.16.61.2 ═ 172.16.61.1 │ nat │ 192.168.62.1 ═ 192.168.62.2 ── outside: wg 10.60.0.2
@Suite(.serialized, .needsRootAndFerryWG)
struct KeepaliveNATTests {
    @Test(arguments: Implementation.allCases)
    func outsideReachesInsideAfterKeepalive(inside: Implementation) throws {
        let insideNS = try NetworkNamespace(prefix: "fki"), nat = try NetworkNamespace(prefix: "fkn"),
            outsideNS = try NetworkNamespace(prefix: "fko")
        var daemons: [WGInterface] = []
        defer {
            daemons.forEach { $0.close() }
            [insideNS, nat, outsideNS].forEach { $0.close() }
        }
        _ = try insideNS.link(to: nat, address: "172.16.61.2/24", peerAddress: "172.16.61.1/24")
        let (_, natOut) = try outsideNS.link(to: nat, address: "192.168.62.2/24", peerAddress: "192.168.62.1/24")
        try insideNS.exec(["ip", "route", "add", "default", "via", "172.16.61.1"])
        try nat.exec(["sysctl", "-qw", "net.ipv4.ip_forward=1"])
        try nat.exec(["iptables", "-t", "nat", "-A", "POSTROUTING", "-o", natOut, "-j", "MASQUERADE"])

        let inner = try WGInterface(inside, in: insideNS), outer = try WGInterface(inside.other, in: outsideNS)
        daemons = [inner, outer]
        try outer.addPeer(inner.publicKey, allowedIPs: ["10.60.0.1/32"])
        try outer.up(addresses: ["10.60.0.2/24"])
        try inner.up(addresses: ["10.60.0.1/24"])
        try inner.addPeer(outer.publicKey, allowedIPs: ["10.60.0.2/32"], endpoint: "192.168.62.2:51820", keepalive: 1)

        // Nothing but the keepalive tells the outside where the inside is: the NAT's address.
        var seen = ""
        #expect(waitUntil(timeout: 10) {
            seen = (try? outer.peer(inner.publicKey))??.endpoint ?? ""
            return seen.hasPrefix("192.168.62.1:")
        }, "outside sees the inside at \(seen)")
        try outsideNS.exec(["ping", "-c", "3", "-i", "0.2", "-W", "2", "-w", "10", "10.60.0.1"])
        // And the keepalives go on, once a second, with no traffic.
        let before = try #require(try outer.peer(inner.publicKey)).rx
        usleep(2_600_000)
        let after = try #require(try outer.peer(inner.publicKey)).rx
        #expect(after >= before + 2 * 32, "keepalive bytes received in 2.6 s: \(after - before)")
    }
}

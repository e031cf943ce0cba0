import FerryTestSupport
import Foundation
import WireGuard

/// The outer address family: what the WireGuard endpoints use.
enum Outer: String, Sendable, CaseIterable, CustomStringConvertible {
    case ipv4, ipv6
    var description: String { rawValue }
}

/// Two namespaces joined by a veth pair (IPv4 and IPv6 addresses on both ends), each running
/// one WireGuard interface that has the other as its peer:
///
///     left: a (10.50.0.1, fd51::1) ── veth 192.168.50.1 / fd50::1 ═ 192.168.50.2 / fd50::2 ── right: b (10.50.0.2, fd51::2)
///
/// Only the sides in `endpointsKnownBy` get the other's endpoint, so a test can make sure
/// which side initiates the handshake. Everything is torn down by `close()`.
final class Tunnel: @unchecked Sendable {
    static let innerA = ["10.50.0.1", "fd51::1"], innerB = ["10.50.0.2", "fd51::2"]
    static let outerA = ["192.168.50.1", "fd50::1"], outerB = ["192.168.50.2", "fd50::2"]
    static let port: UInt16 = 51820

    let left: NetworkNamespace
    let right: NetworkNamespace
    let leftLink: String
    let rightLink: String
    let a: WGInterface
    let b: WGInterface
    let outer: Outer
    let presharedKey: PresharedKey?

    enum Side { case a, b }

    init(_ aKind: Implementation, _ bKind: Implementation, outer: Outer = .ipv4,
         endpointsKnownBy known: Set<Side> = [.a, .b], presharedKey: Bool = false, keepaliveOfA: Int? = nil) throws {
        self.outer = outer
        self.presharedKey = presharedKey ? PresharedKey.generate() : nil
        left = try NetworkNamespace(prefix: "fl")
        right = try NetworkNamespace(prefix: "fr")
        var started: [WGInterface] = []
        do {
            (leftLink, rightLink) = try left.link(to: right, address: Tunnel.outerA[0] + "/24", peerAddress: Tunnel.outerB[0] + "/24")
            try left.exec(["ip", "addr", "add", Tunnel.outerA[1] + "/64", "dev", leftLink, "nodad"])
            try right.exec(["ip", "addr", "add", Tunnel.outerB[1] + "/64", "dev", rightLink, "nodad"])
            a = try WGInterface(aKind, in: left, listenPort: Tunnel.port)
            started.append(a)
            b = try WGInterface(bKind, in: right, listenPort: Tunnel.port)
            started.append(b)
            try a.addPeer(b.publicKey, allowedIPs: [Tunnel.innerB[0] + "/32", Tunnel.innerB[1] + "/128"],
                          endpoint: known.contains(.a) ? Tunnel.endpoint(Tunnel.outerB, outer) : nil,
                          presharedKey: self.presharedKey, keepalive: keepaliveOfA)
            try b.addPeer(a.publicKey, allowedIPs: [Tunnel.innerA[0] + "/32", Tunnel.innerA[1] + "/128"],
                          endpoint: known.contains(.b) ? Tunnel.endpoint(Tunnel.outerA, outer) : nil,
                          presharedKey: self.presharedKey)
            try a.up(addresses: [Tunnel.innerA[0] + "/24", Tunnel.innerA[1] + "/64"])
            try b.up(addresses: [Tunnel.innerB[0] + "/24", Tunnel.innerB[1] + "/64"])
        } catch {
            started.forEach { $0.close() }
            left.close()
            right.close()
            throw error
        }
    }

    /// `host:port` or `[host]:port` of the first (IPv4) or second (IPv6) address.
    static func endpoint(_ addresses: [String], _ outer: Outer, port: UInt16 = Tunnel.port) -> String {
        outer == .ipv4 ? "\(addresses[0]):\(port)" : "[\(addresses[1])]:\(port)"
    }

    func interface(_ side: Side) -> WGInterface { side == .a ? a : b }

    /// Pings from one side to the other's inner address (`family` 0: IPv4, 1: IPv6) and
    /// returns ping's output; throws when no reply came.
    @discardableResult
    func ping(from side: Side, family: Int, count: Int = 3, source: String? = nil) throws -> String {
        let from = interface(side), target = side == .a ? Tunnel.innerB[family] : Tunnel.innerA[family]
        var args = ["ping", "-c", "\(count)", "-i", "0.2", "-W", "2", "-w", "10"]
        if let source { args += ["-I", source] }
        return try from.ns.exec(args + [target])
    }

    /// Stops both daemons and deletes both namespaces (and so the veth pair).
    func close() {
        a.close()
        b.close()
        left.close()
        right.close()
    }
}

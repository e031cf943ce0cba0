import FerryTestSupport
import Foundation
import Testing

/// What a container platform does with a pod's interface: ferry-wg starts in namespace A
/// (where its UDP sockets stay), its interface is moved to B with `ip link set IF netns B`,
/// configured with `wg` through the same socket path, carries pings and iperf3 to a
/// wireguard-go peer, moves on to C and back, follows an MTU change there, and is deleted
/// in C: the daemon exits and removes its socket.
@Suite(.serialized, .needsRootAndFerryWG)
struct NamespaceMoveTests {
    @Test func interfaceKeepsWorkingInOtherNamespaces() throws {
        // a = ferry-wg in `left` (A), b = wireguard-go in `right`; only the peer knows no endpoint
        // until ferry-wg is configured again after the move.
        let tunnel = try Tunnel(.ferry, .wireguardGo, endpointsKnownBy: [.a])
        defer { tunnel.close() }
        let b = try NetworkNamespace(prefix: "fnb"), c = try NetworkNamespace(prefix: "fnc")
        defer { b.close(); c.close() }
        // Without IPv6 there, the interface sends nothing of its own when it comes up: the
        // daemon must follow it without a packet to wake its TUN reader.
        for ns in [b, c] {
            try ns.exec(["sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"])
        }
        let name = tunnel.a.name, peer = tunnel.b.publicKey
        let portBefore = try tunnel.a.wg(["show", name, "listen-port"])
        let port = portBefore.trimmingCharacters(in: .whitespacesAndNewlines)
        let left = tunnel.left
        let listening = { ((try? left.exec(["ss", "-Hlun"])) ?? "").contains(":\(port) ") }

        try move(name, from: tunnel.left, to: b, listening)
        // Configured from A through the same socket: the peer removed and added again.
        try tunnel.a.removePeer(peer)
        try tunnel.a.addPeer(peer, allowedIPs: [Tunnel.innerB[0] + "/32"], endpoint: Tunnel.endpoint(Tunnel.outerB, .ipv4))
        try bringUp(name, in: b, listening)
        try b.exec(["ping", "-c", "2", "-i", "0.2", "-W", "2", "-w", "10", Tunnel.innerB[0]])
        let transfer = try Iperf(server: tunnel.right, address: Tunnel.innerB[0], client: b, seconds: 2)
        let result = try transfer.finish()
        print("iperf3 from namespace B through the moved interface: \(result)")
        #expect(result.receivedBytes > 0)
        // The sockets stayed in A, on the same port.
        #expect(try tunnel.a.wg(["show", name, "listen-port"]) == portBefore)
        #expect(try tunnel.left.exec(["ss", "-Hlun"]).contains(":\(portBefore.trimmingCharacters(in: .whitespacesAndNewlines))"))

        // On to C, back to B and to C again: each time the link comes up there, traffic flows.
        for (from, to) in [(b, c), (c, b), (b, c)] {
            try move(name, from: from, to: to, listening)
            try bringUp(name, in: to, listening)
            try to.exec(["ping", "-c", "1", "-W", "2", "-w", "10", Tunnel.innerB[0]])
        }
        // The MTU is followed in the new namespace (the daemon pads to it).
        try c.exec(["ip", "link", "set", name, "mtu", "1300"])
        let daemon = tunnel.a.process
        #expect(waitUntil(timeout: 5) { daemon.output.contains("MTU updated: 1300") }, "\(daemon.output.suffix(2000))")
        try c.exec(["ping", "-c", "1", "-s", "1200", "-W", "2", "-w", "10", Tunnel.innerB[0]])

        // Deleted in C: the daemon stops and takes its socket with it.
        try c.exec(["ip", "link", "del", name])
        #expect(waitUntil(timeout: 10) { !daemon.isRunning }, "ferry-wg still running after its interface was deleted in C")
        #expect(!FileManager.default.fileExists(atPath: tunnel.a.socketPath))
        #expect(daemon.output.contains("moved to another network namespace"))
    }

    /// Moves the interface; it arrives down, so the daemon closes its sockets.
    private func move(_ name: String, from: NetworkNamespace, to: NetworkNamespace, _ listening: () -> Bool) throws {
        try from.exec(["ip", "link", "set", name, "netns", to.name])
        #expect(waitUntil(timeout: 5) { (try? to.exec(["ip", "link", "show", name])) != nil })
        #expect(waitUntil(timeout: 5) { !listening() }, "sockets still open with \(name) down in \(to.name)")
    }

    /// A moved interface arrives down and without addresses; up, the daemon reopens its
    /// sockets (in A) before any packet goes through.
    private func bringUp(_ name: String, in ns: NetworkNamespace, _ listening: () -> Bool) throws {
        try ns.exec(["ip", "addr", "add", Tunnel.innerA[0] + "/24", "dev", name])
        try ns.exec(["ip", "link", "set", name, "up"])
        #expect(waitUntil(timeout: 5) { listening() }, "sockets not reopened after \(name) came up in \(ns.name)")
    }
}

/// `ip link set down` closes the UDP sockets and `up` reopens them on the same port, as
/// wireguard-go does; traffic resumes without a new `wg set`.
@Suite(.serialized, .needsRootAndFerryWG)
struct LinkDownUpTests {
    @Test func socketsCloseOnDownAndReopenOnUp() throws {
        let tunnel = try Tunnel(.ferry, .wireguardGo)
        defer { tunnel.close() }
        let name = tunnel.a.name
        try tunnel.ping(from: .a, family: 0, count: 1)
        let port = try tunnel.a.wg(["show", name, "listen-port"]).trimmingCharacters(in: .whitespacesAndNewlines)
        func listening() -> Bool { ((try? tunnel.left.exec(["ss", "-Hlun"])) ?? "").contains(":\(port) ") }
        #expect(listening())

        // A ping runs across the down/up (as in the issue), from the peer's side.
        let pinger = try tunnel.right.spawn(["ping", "-i", "0.2", "-W", "1", "-w", "20", Tunnel.innerA[0]])
        defer { pinger.stop() }
        try tunnel.left.exec(["ip", "link", "set", name, "down"])
        #expect(waitUntil(timeout: 5) { !listening() }, "port \(port) still open while \(name) is down")
        usleep(500_000)
        try tunnel.left.exec(["ip", "link", "set", name, "up"])
        let upAt = Date()
        // Traffic resumes within a second of `up` (generous bound for a loaded machine).
        var resumed: TimeInterval?
        while Date().timeIntervalSince(upAt) < 5 {
            if (try? tunnel.ns(.a).exec(["ping", "-c", "1", "-W", "1", Tunnel.innerB[0]])) != nil {
                resumed = Date().timeIntervalSince(upAt)
                break
            }
        }
        print("traffic resumed \(resumed.map { String(format: "%.2f", $0) } ?? "never") s after up")
        let seconds = try #require(resumed, "no traffic after up: \(tunnel.a.process.output.suffix(2000))")
        #expect(seconds < 3)
        #expect(listening())
        #expect(try tunnel.a.wg(["show", name, "listen-port"]).trimmingCharacters(in: .whitespacesAndNewlines) == port)
        // The running ping gets replies again (a few of its packets after up), then SIGINT:
        // ping prints its summary and flushes its (file-buffered) output.
        usleep(1_200_000)
        pinger.signal(SIGINT)
        _ = waitUntil(timeout: 5) { !pinger.isRunning }
        #expect(pinger.output.contains("bytes from \(Tunnel.innerA[0])"), "\(pinger.output)")
    }
}

extension Tunnel {
    func ns(_ side: Side) -> NetworkNamespace { side == .a ? left : right }
}

import FerryTestSupport
import Synchronization
import Testing
import WireGuard
import WireGuardLinux

/// Two whole `UserspaceDevice`s in one process over the in-memory TUN and UDP doubles,
/// configured through the UAPI handler as `wg` would, ping each other (TESTING.md layer 4).
/// No root needed.
@Suite struct MemoryDevicesTests {
    /// One host: a device on a `MemoryTUN` and a `MemoryBind` with an IPv4 and an IPv6 address.
    final class Host {
        let tun: MemoryTUN
        let bind: MemoryBind
        let network: MemoryNetwork
        let device: UserspaceDevice
        let key = PrivateKey.generate()
        let outer: [IPAddress]
        let inner: [[UInt8]]
        let innerPrefixes: [String]

        init(_ name: String, network: MemoryNetwork, outer: [String], inner: [String]) throws {
            self.outer = outer.compactMap { IPAddress($0) }
            self.inner = inner.compactMap { IPAddress($0)?.bytes }
            innerPrefixes = inner.map { $0 + ($0.contains(":") ? "/128" : "/32") }
            tun = MemoryTUN(name: name)
            self.network = network
            bind = network.bind(addresses: self.outer)
            device = try UserspaceDevice(name: name, tun: tun, bind: bind, links: tun.linkEvents,
                                         log: DeviceLog(level: .silent, interface: name))
            try device.start()
        }

        /// Sends a `set=1` body through the UAPI handler; returns its answer.
        func set(_ lines: [String]) throws -> String {
            device.handle(try UAPI.parse("set=1\n" + lines.map { $0 + "\n" }.joined() + "\n"))
        }

        func get() throws -> UAPIDeviceStatus { try UAPI.parseStatus(device.handle(.get)) }
    }

    /// Configures `a` and `b` as peers, each on its own port; `initiator` alone knows the
    /// other's endpoint (of the outer family `v6` or not).
    static func configure(_ a: Host, _ b: Host, port: (UInt16, UInt16), v6: Bool) throws {
        for (host, other, ownPort, otherPort, knows) in [(a, b, port.0, port.1, true), (b, a, port.1, port.0, false)] {
            var lines = ["private_key=\(host.key.hex)", "listen_port=\(ownPort)",
                         "public_key=\(other.key.publicKey.hex)", "replace_allowed_ips=true"]
            if knows { lines.append("endpoint=\(Endpoint(address: other.outer[v6 ? 1 : 0], port: otherPort))") }
            lines += other.innerPrefixes.map { "allowed_ip=\($0)" }
            #expect(try host.set(lines) == "errno=0\n\n")
            #expect(host.device.listenPort == ownPort)
        }
    }

    /// Two configured hosts on one memory network.
    static func pair(outerIPv6: Bool) throws -> (Host, Host) {
        let network = MemoryNetwork()
        let a = try Host("mema", network: network, outer: ["192.0.2.1", "2001:db8::1"], inner: ["10.9.0.1", "fd09::1"])
        let b = try Host("memb", network: network, outer: ["192.0.2.2", "2001:db8::2"], inner: ["10.9.0.2", "fd09::2"])
        do {
            try configure(a, b, port: (51820, 51821), v6: outerIPv6)
        } catch {
            a.device.close()
            b.device.close()
            throw error
        }
        return (a, b)
    }

    /// Injects an echo request into `from`'s TUN; expects it unchanged out of `to`'s, answers
    /// it there and expects the reply out of `from`'s.
    static func ping(from: Host, to: Host, family: Int, sequence: UInt16) throws {
        let request = ICMP.packet(ICMP.Echo(isRequest: true, source: from.inner[family], destination: to.inner[family],
                                            id: 0x4652, sequence: sequence, payload: Array("ferry \(sequence)".utf8)))
        #expect(from.tun.inject(request))
        let arrived = try #require(to.tun.takeWritten(until: .after(seconds: 5)), "request did not come through")
        #expect(arrived == request)
        let reply = try #require(ICMP.reply(to: arrived, target: to.inner[family]))
        #expect(to.tun.inject(reply))
        #expect(from.tun.takeWritten(until: .after(seconds: 5)) == reply)
    }

    @Test(arguments: [false, true])
    func devicesPingEachOtherOverIPv4AndIPv6(outerIPv6: Bool) throws {
        let (a, b) = try MemoryDevicesTests.pair(outerIPv6: outerIPv6)
        defer {
            a.device.close()
            b.device.close()
        }
        var sequence: UInt16 = 0
        for _ in 0..<3 {
            for family in 0..<2 {
                sequence += 1
                try MemoryDevicesTests.ping(from: a, to: b, family: family, sequence: sequence)
                sequence += 1
                try MemoryDevicesTests.ping(from: b, to: a, family: family, sequence: sequence)
            }
        }
        // Both sides report the handshake and the same bytes, each in its own direction.
        let statusA = try #require(try a.get().peers.first), statusB = try #require(try b.get().peers.first)
        #expect(statusA.lastHandshakeTimeSec > 0 && statusB.lastHandshakeTimeSec > 0)
        #expect(statusA.txBytes > 0 && statusA.txBytes == statusB.rxBytes && statusA.rxBytes == statusB.txBytes)
        // b learnt a's endpoint from the handshake.
        #expect(statusB.endpoint == Endpoint(address: a.outer[outerIPv6 ? 1 : 0], port: 51820))
    }

    @Test func packetToAnAddressOfNoPeerIsDropped() throws {
        let (a, b) = try MemoryDevicesTests.pair(outerIPv6: false)
        defer {
            a.device.close()
            b.device.close()
        }
        try MemoryDevicesTests.ping(from: a, to: b, family: 0, sequence: 1)
        // A source b may not use: a's device drops it after decryption.
        let spoofed = ICMP.packet(ICMP.Echo(isRequest: true, source: [10, 9, 0, 99], destination: a.inner[0],
                                            id: 1, sequence: 2, payload: [1, 2, 3]))
        #expect(b.tun.inject(spoofed))
        #expect(a.tun.takeWritten(until: .after(seconds: 1)) == nil)
        try MemoryDevicesTests.ping(from: b, to: a, family: 0, sequence: 3)
    }

    /// A listen port that is taken: EADDRINUSE, and the device goes on receiving on its old
    /// port (the rebind reopened it and started new receivers).
    @Test func takenListenPortKeepsTheOldOneWorking() throws {
        let (a, b) = try MemoryDevicesTests.pair(outerIPv6: false)
        defer {
            a.device.close()
            b.device.close()
        }
        try MemoryDevicesTests.ping(from: a, to: b, family: 0, sequence: 1)
        let squatter = a.network.bind(addresses: a.outer)
        _ = try squatter.open(port: 40000)
        defer { squatter.close() }
        #expect(try b.set(["listen_port=40000"]) == "errno=0\n\n")  // b's addresses differ: free for b
        #expect(try a.set(["listen_port=40000"]) == "errno=-98\n\n")
        let shown = try a.get().listenPort
        #expect(a.device.listenPort == 51820 && shown == 51820)
        // b moved: it tells a with its next packet, and a answers on its old port.
        try MemoryDevicesTests.ping(from: b, to: a, family: 0, sequence: 2)
        try MemoryDevicesTests.ping(from: a, to: b, family: 1, sequence: 3)
    }

    /// Padding goes up to a multiple of 16 but never beyond the MTU, and the MTU follows the
    /// interface's changes (link events): a 1,378-byte packet is padded to 1,392 under the
    /// default 1,420 and to 1,379 once the interface's MTU is 1,379.
    @Test func paddingFollowsTheInterfacesMTU() throws {
        let (a, b) = try MemoryDevicesTests.pair(outerIPv6: false)
        defer {
            a.device.close()
            b.device.close()
        }
        let sizes = Mutex<[Int]>([])
        let network = a.network
        network.setFilter { _, destination, bytes in
            if destination.port == 51821, bytes.first == 4 { sizes.withLock { $0.append(bytes.count) } }
            return true
        }
        try MemoryDevicesTests.ping(from: a, to: b, family: 0, sequence: 1)
        func sendLarge(_ sequence: UInt16) -> Int? {
            sizes.withLock { $0.removeAll() }
            let packet = ICMP.packet(ICMP.Echo(isRequest: true, source: a.inner[0], destination: b.inner[0], id: 7, sequence: sequence,
                                               payload: [UInt8](repeating: 0x5a, count: 1378 - 28)))
            a.tun.inject(packet)
            guard b.tun.takeWritten(until: .after(seconds: 5)) == packet else { return nil }
            return sizes.withLock { $0.last }
        }
        #expect(sendLarge(2) == 16 + 1392 + 16)
        a.tun.setMTU(1379)
        var sequence: UInt16 = 3
        let followed = waitUntil(timeout: 5) {
            sequence += 1
            return sendLarge(sequence) == 16 + 1379 + 16
        }
        #expect(followed, "the device still pads for the old MTU")
    }
}

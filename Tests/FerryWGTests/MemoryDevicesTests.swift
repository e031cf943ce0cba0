import FerryTestSupport
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
}

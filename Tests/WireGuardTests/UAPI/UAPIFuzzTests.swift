import FerryTestSupport
import Testing
@testable import WireGuard

/// Random and hostile input: nothing traps, errors carry wireguard-go's errno, whatever
/// parses renders back to itself, and the framer does not care how the bytes are cut.
@Suite struct UAPIFuzzTests {
    @Test func randomRequestsRoundTrip() throws {
        var rng = SeededGenerator(seed: 0x0A91)
        var stream: [UInt8] = []
        var expected: [UAPIFramer.Event] = []
        for _ in 0..<2000 {
            let request = RandomUAPI.setRequest(&rng)
            let text = UAPI.render(request)
            #expect(try UAPI.parse(text) == .set(request))
            stream += Array(text.utf8)
            expected.append(.request(.set(request)))
        }
        #expect(frames(stream) == expected)
        #expect(frames(stream, chunks: [1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144]) == expected)
    }

    @Test func randomStatusesRoundTrip() throws {
        var rng = SeededGenerator(seed: 0x57A7)
        for _ in 0..<1000 {
            let status = RandomUAPI.status(&rng)
            #expect(try UAPI.parseStatus(UAPI.render(status)) == status)
        }
    }

    @Test func garbageNeverTraps() throws {
        var rng = SeededGenerator(seed: 0x6A4B)
        var accepted = 0
        for _ in 0..<20000 {
            var bytes: [UInt8] = []
            if rng.next() % 2 == 0 {
                // Shaped like a request: random lines of key and value tokens.
                bytes = Array("set=1\n".utf8)
                for _ in 0..<Int.random(in: 0..<4, using: &rng) {
                    bytes += Array(RandomUAPI.keys[Int.random(in: 0..<RandomUAPI.keys.count, using: &rng)].utf8)
                    for _ in 0..<Int.random(in: 0..<3, using: &rng) { bytes += RandomUAPI.token(&rng) }
                    bytes += Array("\n".utf8)
                }
                bytes += Array("\n".utf8)
            } else {
                for _ in 0..<Int.random(in: 0..<12, using: &rng) { bytes += RandomUAPI.token(&rng) }
            }
            if try check(bytes, &rng) { accepted += 1 }
        }
        // The input is random enough to be refused mostly, but not always.
        #expect(accepted > 100 && accepted < 10000)
    }

    @Test func mutatedRequestsNeverTrap() throws {
        var rng = SeededGenerator(seed: 0x3E7A)
        let seeds = [UAPISamples.wgSetconf, UAPISamples.wireguardGoTestConfig, UAPIStatusTests.text, "get=1\n\n"]
            .map { Array($0.utf8) }
        var accepted = 0
        for _ in 0..<20000 {
            var bytes = seeds[Int.random(in: 0..<seeds.count, using: &rng)]
            for _ in 0..<Int.random(in: 1...3, using: &rng) {
                let at = Int.random(in: 0...bytes.count, using: &rng)
                switch rng.next() % 4 {
                case 0 where at < bytes.count: bytes[at] ^= UInt8(1 << (rng.next() % 8))
                case 1 where at < bytes.count: bytes.remove(at: at)
                case 2: bytes.insert(contentsOf: RandomUAPI.token(&rng), at: at)
                default: bytes.removeSubrange(at...)
                }
            }
            if try check(bytes, &rng) { accepted += 1 }
        }
        #expect(accepted > 100 && accepted < 19000)
    }

    /// True when `bytes` parse as a request.
    private func check(_ bytes: [UInt8], _ rng: inout SeededGenerator) throws -> Bool {
        var accepted = false
        do {
            let request = try UAPI.parse(bytes: bytes)
            accepted = true
            if case .set(let set) = request {
                #expect(try UAPI.parse(UAPI.render(set)) == request)
            }
        } catch {
            #expect([22, 71].contains(error.errno))
        }
        let text = String(decoding: bytes, as: UTF8.self)
        if let status = try? UAPI.parseStatus(text) {
            #expect(try UAPI.parseStatus(UAPI.render(status)) == status)
        }
        let cuts = (0..<4).map { _ in Int.random(in: 1...9, using: &rng) }
        #expect(frames(bytes, finish: true) == frames(bytes, chunks: cuts, finish: true))
        return accepted
    }
}

/// Random values for the codec tests.
enum RandomUAPI {
    static let keys: [String] = [
        "private_key=", "listen_port=", "fwmark=", "replace_peers=", "public_key=", "remove=", "update_only=",
        "preshared_key=", "endpoint=", "persistent_keepalive_interval=", "replace_allowed_ips=", "allowed_ip=",
        "protocol_version=", "errno=", "tx_bytes=",
    ]

    static let tokens: [String] = keys + [
        "set=1\n", "get=1\n", "\n", "\r\n", "=", "-", "/", ":", ".", "[", "]", "%", " ", "0", "1", "true",
        "65535", "65536", "4294967296", "ffff", "::", "10.0.0.1", "fd00::1", "/32", "/128", "/0",
        UAPISamples.peer1Hex, UAPISamples.zeroHex,
    ]

    static func token(_ rng: inout SeededGenerator) -> [UInt8] {
        if rng.next() % 8 == 0 { return (0..<Int.random(in: 1...4, using: &rng)).map { _ in UInt8(truncatingIfNeeded: rng.next()) } }
        return Array(tokens[Int.random(in: 0..<tokens.count, using: &rng)].utf8)
    }

    static func key<K: WireGuardKey>(_ rng: inout SeededGenerator) -> K {
        K(rawValue: Bytes32 { buf in for i in 0..<32 { buf[i] = UInt8(truncatingIfNeeded: rng.next()) } })
    }

    static func address(_ rng: inout SeededGenerator) -> IPAddress {
        if rng.next() % 2 == 0 { return .v4(IPv4Address(UInt32(truncatingIfNeeded: rng.next()))) }
        // Runs of zero groups, so that "::" appears in many places.
        var high = rng.next(), low = rng.next()
        for shift in stride(from: 0, to: 64, by: 16) {
            if rng.next() % 3 == 0 { high &= ~(0xffff << UInt64(shift)) }
            if rng.next() % 3 == 0 { low &= ~(0xffff << UInt64(shift)) }
        }
        if rng.next() % 8 == 0 { high = 0; low = 0xffff_0000_0000 | low & 0xffff_ffff } // IPv4-mapped
        return .v6(IPv6Address(high: high, low: low))
    }

    static func prefix(_ rng: inout SeededGenerator) -> IPPrefix {
        let a = address(&rng)
        return IPPrefix(a, Int.random(in: 0...a.bitWidth, using: &rng)) ?? IPPrefix(unchecked: a, 0)
    }

    static func endpoint(_ rng: inout SeededGenerator) -> Endpoint {
        Endpoint(address: address(&rng), port: UInt16(truncatingIfNeeded: rng.next()))
    }

    static func setRequest(_ rng: inout SeededGenerator) -> UAPISetRequest {
        var r = UAPISetRequest()
        for _ in 0..<Int.random(in: 0...4, using: &rng) {
            switch rng.next() % 4 {
            case 0: r.device.append(.privateKey(key(&rng)))
            case 1: r.device.append(.listenPort(UInt16(truncatingIfNeeded: rng.next())))
            case 2: r.device.append(.fwmark(UInt32(truncatingIfNeeded: rng.next())))
            default: r.device.append(.replacePeers)
            }
        }
        for _ in 0..<Int.random(in: 0...4, using: &rng) {
            var peer = UAPISetRequest.Peer(publicKey: key(&rng))
            for _ in 0..<Int.random(in: 0...8, using: &rng) {
                switch rng.next() % 9 {
                case 0: peer.changes.append(.remove)
                case 1: peer.changes.append(.updateOnly)
                case 2: peer.changes.append(.presharedKey(key(&rng)))
                case 3: peer.changes.append(.endpoint(endpoint(&rng)))
                case 4: peer.changes.append(.persistentKeepaliveInterval(UInt16(truncatingIfNeeded: rng.next())))
                case 5: peer.changes.append(.replaceAllowedIPs)
                case 6: peer.changes.append(.removeAllowedIP(prefix(&rng)))
                case 7: peer.changes.append(.protocolVersion)
                default: peer.changes.append(.addAllowedIP(prefix(&rng)))
                }
            }
            r.peers.append(peer)
        }
        return r
    }

    static func status(_ rng: inout SeededGenerator) -> UAPIDeviceStatus {
        var s = UAPIDeviceStatus(
            privateKey: rng.next() % 4 == 0 ? nil : key(&rng),
            listenPort: UInt16(truncatingIfNeeded: rng.next()),
            fwmark: rng.next() % 2 == 0 ? 0 : UInt32(truncatingIfNeeded: rng.next())
        )
        for _ in 0..<Int.random(in: 0...4, using: &rng) {
            s.peers.append(UAPIPeerStatus(
                publicKey: key(&rng),
                presharedKey: rng.next() % 2 == 0 ? nil : key(&rng),
                endpoint: rng.next() % 3 == 0 ? nil : endpoint(&rng),
                lastHandshakeTimeSec: Int64.random(in: 0...Int64.max, using: &rng),
                lastHandshakeTimeNsec: Int64.random(in: 0..<1_000_000_000, using: &rng),
                txBytes: rng.next(), rxBytes: rng.next(),
                persistentKeepaliveInterval: UInt16(truncatingIfNeeded: rng.next()),
                allowedIPs: (0..<Int.random(in: 0...5, using: &rng)).map { _ in prefix(&rng) }
            ))
        }
        return s
    }
}

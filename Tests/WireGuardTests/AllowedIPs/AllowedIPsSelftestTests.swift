import Testing
@testable import WireGuard

/// The hand-written cases of the Linux driver's drivers/net/wireguard/selftest/allowedips.c
/// (wg_allowedips_selftest), and the removal cases wireguard-go adds in
/// device/allowedips_test.go (TestTrieIPv4, TestTrieIPv6). The tables are theirs; peers
/// are the letters a…h. IPv6 addresses are four 32-bit words, as their ip6() takes them.
enum KernelAllowedIPsSelftest {
    enum Step: Sendable {
        case insert4(String, UInt8, UInt8, UInt8, UInt8, Int)
        case insert6(String, UInt32, UInt32, UInt32, UInt32, Int)
        case remove4(String, UInt8, UInt8, UInt8, UInt8, Int)
        case remove6(String, UInt32, UInt32, UInt32, UInt32, Int)
        case test4(String?, UInt8, UInt8, UInt8, UInt8)
        case test6(String?, UInt32, UInt32, UInt32, UInt32)
        case testNot4(String, UInt8, UInt8, UInt8, UInt8)
        case testNot6(String, UInt32, UInt32, UInt32, UInt32)
        case removeByPeer(String)
        case free
    }

    static let steps: [Step] = [
        .insert4("a", 192, 168, 4, 0, 24),
        .insert4("b", 192, 168, 4, 4, 32),
        .insert4("c", 192, 168, 0, 0, 16),
        .insert4("d", 192, 95, 5, 64, 27),
        .insert4("c", 192, 95, 5, 65, 27), // replaces previous entry, and maskself is required
        .insert6("d", 0x2607_5300, 0x6000_6b00, 0, 0xc05f_0543, 128),
        .insert6("c", 0x2607_5300, 0x6000_6b00, 0, 0, 64),
        .insert4("e", 0, 0, 0, 0, 0),
        .insert6("e", 0, 0, 0, 0, 0),
        .insert6("f", 0, 0, 0, 0, 0), // replaces previous entry
        .insert6("g", 0x2404_6800, 0, 0, 0, 32),
        .insert6("h", 0x2404_6800, 0x4004_0800, 0xdead_beef, 0xdead_beef, 64), // maskself is required
        .insert6("a", 0x2404_6800, 0x4004_0800, 0xdead_beef, 0xdead_beef, 128),
        .insert6("c", 0x2444_6800, 0x40e4_0800, 0xdeae_beef, 0x0def_beef, 128),
        .insert6("b", 0x2444_6800, 0xf0e4_0800, 0xeeae_beef, 0, 98),
        .insert4("g", 64, 15, 112, 0, 20),
        .insert4("h", 64, 15, 123, 211, 25), // maskself is required
        .insert4("a", 10, 0, 0, 0, 25),
        .insert4("b", 10, 0, 0, 128, 25),
        .insert4("a", 10, 1, 0, 0, 30),
        .insert4("b", 10, 1, 0, 4, 30),
        .insert4("c", 10, 1, 0, 8, 29),
        .insert4("d", 10, 1, 0, 16, 29),

        .test4("a", 192, 168, 4, 20),
        .test4("a", 192, 168, 4, 0),
        .test4("b", 192, 168, 4, 4),
        .test4("c", 192, 168, 200, 182),
        .test4("c", 192, 95, 5, 68),
        .test4("e", 192, 95, 5, 96),
        .test6("d", 0x2607_5300, 0x6000_6b00, 0, 0xc05f_0543),
        .test6("c", 0x2607_5300, 0x6000_6b00, 0, 0xc02e_01ee),
        .test6("f", 0x2607_5300, 0x6000_6b01, 0, 0),
        .test6("g", 0x2404_6800, 0x4004_0806, 0, 0x1006),
        .test6("g", 0x2404_6800, 0x4004_0806, 0x1234, 0x5678),
        .test6("f", 0x2404_67ff, 0x4004_0806, 0x1234, 0x5678),
        .test6("f", 0x2404_6801, 0x4004_0806, 0x1234, 0x5678),
        .test6("h", 0x2404_6800, 0x4004_0800, 0x1234, 0x5678),
        .test6("h", 0x2404_6800, 0x4004_0800, 0, 0),
        .test6("h", 0x2404_6800, 0x4004_0800, 0x1010_1010, 0x1010_1010),
        .test6("a", 0x2404_6800, 0x4004_0800, 0xdead_beef, 0xdead_beef),
        .test4("g", 64, 15, 116, 26),
        .test4("g", 64, 15, 127, 3),
        .test4("g", 64, 15, 123, 1),
        .test4("h", 64, 15, 123, 128),
        .test4("h", 64, 15, 123, 129),
        .test4("a", 10, 0, 0, 52),
        .test4("b", 10, 0, 0, 220),
        .test4("a", 10, 1, 0, 2),
        .test4("b", 10, 1, 0, 6),
        .test4("c", 10, 1, 0, 10),
        .test4("d", 10, 1, 0, 20),

        .insert4("a", 1, 0, 0, 0, 32),
        .insert4("a", 64, 0, 0, 0, 32),
        .insert4("a", 128, 0, 0, 0, 32),
        .insert4("a", 192, 0, 0, 0, 32),
        .insert4("a", 255, 0, 0, 0, 32),
        .removeByPeer("a"),
        .testNot4("a", 1, 0, 0, 0),
        .testNot4("a", 64, 0, 0, 0),
        .testNot4("a", 128, 0, 0, 0),
        .testNot4("a", 192, 0, 0, 0),
        .testNot4("a", 255, 0, 0, 0),

        .free,
        .insert4("a", 192, 168, 0, 0, 16),
        .insert4("a", 192, 168, 0, 0, 24),
        .removeByPeer("a"),
        .testNot4("a", 192, 168, 0, 1),

        // wireguard-go TestTrieIPv4, after the kernel's cases: single removals.
        .free,
        .insert4("a", 1, 0, 0, 0, 32),
        .insert4("a", 192, 0, 0, 0, 24),
        .test4("a", 1, 0, 0, 0),
        .test4("a", 192, 0, 0, 1),
        .remove4("a", 192, 0, 0, 0, 32),
        .test4("a", 192, 0, 0, 1),
        .remove4("b", 192, 0, 0, 0, 24),
        .test4("a", 192, 0, 0, 1),
        .remove4("a", 192, 0, 0, 0, 24),
        .testNot4("a", 192, 0, 0, 1),
        .remove4("a", 1, 0, 0, 0, 32),
        .testNot4("a", 1, 0, 0, 0),

        // wireguard-go TestTrieIPv6, its removal part.
        .free,
        .insert6("c", 0x2444_6800, 0x40e4_0800, 0xdeae_beef, 0x0def_beef, 128),
        .insert6("b", 0x2444_6800, 0xf0e4_0800, 0xeeae_beef, 0, 98),
        .insert6("a", 0x2444_6801, 0x40e4_0800, 0xdeae_beef, 0x0def_beef, 128),
        .insert6("a", 0x2444_6800, 0xf0e4_0800, 0xeeae_beef, 0, 98),
        .test6("a", 0x2444_6801, 0x40e4_0800, 0xdeae_beef, 0x0def_beef),
        .test6("a", 0x2444_6800, 0xf0e4_0800, 0xeeae_beef, 0x1010_1010),
        .remove6("a", 0x2444_6801, 0x40e4_0800, 0xdeae_beef, 0x0def_beef, 96),
        .test6("a", 0x2444_6801, 0x40e4_0800, 0xdeae_beef, 0x0def_beef),
        .remove6("b", 0x2444_6801, 0x40e4_0800, 0xdeae_beef, 0x0def_beef, 128),
        .test6("a", 0x2444_6801, 0x40e4_0800, 0xdeae_beef, 0x0def_beef),
        .remove6("a", 0x2444_6801, 0x40e4_0800, 0xdeae_beef, 0x0def_beef, 128),
        .testNot6("a", 0x2444_6801, 0x40e4_0800, 0xdeae_beef, 0x0def_beef),
        .remove6("b", 0x2444_6800, 0xf0e4_0800, 0xeeae_beef, 0, 98),
        .test6("a", 0x2444_6800, 0xf0e4_0800, 0xeeae_beef, 0x1010_1010),
        .remove6("a", 0x2444_6800, 0xf0e4_0800, 0xeeae_beef, 0, 98),
        .testNot6("a", 0x2444_6800, 0xf0e4_0800, 0xeeae_beef, 0x1010_1010),
        .test6("c", 0x2444_6800, 0x40e4_0800, 0xdeae_beef, 0x0def_beef),
    ]

    static func v4(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) -> IPAddress { .v4(IPv4Address(a, b, c, d)) }

    static func v6(_ a: UInt32, _ b: UInt32, _ c: UInt32, _ d: UInt32) -> IPAddress {
        .v6(IPv6Address(high: UInt64(a) << 32 | UInt64(b), low: UInt64(c) << 32 | UInt64(d)))
    }

    static func prefix(_ address: IPAddress, _ length: Int) -> IPPrefix {
        guard let p = IPPrefix(address, length) else { preconditionFailure("bad test prefix") }
        return p
    }
}

@Suite struct AllowedIPsSelftestTests {
    typealias K = KernelAllowedIPsSelftest

    @Test func kernelSelftestCases() {
        var table = AllowedIPs<String>()
        var number = 0
        for step in K.steps {
            number += 1
            switch step {
            case .insert4(let p, let a, let b, let c, let d, let cidr): table.insert(K.prefix(K.v4(a, b, c, d), cidr), value: p)
            case .insert6(let p, let a, let b, let c, let d, let cidr): table.insert(K.prefix(K.v6(a, b, c, d), cidr), value: p)
            case .remove4(let p, let a, let b, let c, let d, let cidr): table.remove(K.prefix(K.v4(a, b, c, d), cidr), value: p)
            case .remove6(let p, let a, let b, let c, let d, let cidr): table.remove(K.prefix(K.v6(a, b, c, d), cidr), value: p)
            case .test4(let p, let a, let b, let c, let d):
                #expect(table.lookup(K.v4(a, b, c, d)) == p, "step \(number)")
                #expect(K.v4(a, b, c, d).bytes.withUnsafeBytes { table.lookup(bytes: $0) } == p, "step \(number)")
            case .test6(let p, let a, let b, let c, let d):
                #expect(table.lookup(K.v6(a, b, c, d)) == p, "step \(number)")
                #expect(K.v6(a, b, c, d).bytes.withUnsafeBytes { table.lookup(bytes: $0) } == p, "step \(number)")
            case .testNot4(let p, let a, let b, let c, let d): #expect(table.lookup(K.v4(a, b, c, d)) != p, "step \(number)")
            case .testNot6(let p, let a, let b, let c, let d): #expect(table.lookup(K.v6(a, b, c, d)) != p, "step \(number)")
            case .removeByPeer(let p): table.removeAll(value: p)
            case .free: table.removeAll()
            }
        }
    }

    /// The kernel's per-peer list check: five prefixes of one peer come back masked.
    @Test func peerListReadsBackMasked() {
        var table = AllowedIPs<String>()
        table.insert(K.prefix(K.v4(192, 95, 5, 93), 27), value: "a")
        table.insert(K.prefix(K.v6(0x2607_5300, 0x6000_6b00, 0, 0xc05f_0543), 128), value: "a")
        table.insert(K.prefix(K.v4(10, 1, 0, 20), 29), value: "a")
        table.insert(K.prefix(K.v6(0x2607_5300, 0x6d8a_6bf8, 0xdab1_f1df, 0xc05f_1523), 83), value: "a")
        table.insert(K.prefix(K.v6(0x2607_5300, 0x6d8a_6bf8, 0xdab1_f1df, 0xc05f_1523), 21), value: "a")
        #expect(table.prefixes(of: "a") == [
            K.prefix(K.v4(192, 95, 5, 64), 27),
            K.prefix(K.v6(0x2607_5300, 0x6000_6b00, 0, 0xc05f_0543), 128),
            K.prefix(K.v4(10, 1, 0, 16), 29),
            K.prefix(K.v6(0x2607_5300, 0x6d8a_6bf8, 0xdab1_e000, 0), 83),
            K.prefix(K.v6(0x2607_5000, 0, 0, 0), 21),
        ])
        #expect(table.count == 5)
    }

    /// The kernel's deep-trie case (MAX_ALLOWEDIPS_BITS host routes that differ in one
    /// bit each), then everything removed again.
    @Test func deepTrie() {
        var table = AllowedIPs<String>()
        var addresses: [IPAddress] = []
        for i in 0..<128 {
            let part = ~(UInt64(1) << UInt64(i % 64))
            let a = IPv6Address(high: i < 64 ? .max : part, low: i < 64 ? part : .max)
            addresses.append(.v6(a))
            table.insert(K.prefix(.v6(a), 128), value: "a")
        }
        for a in addresses { #expect(table.lookup(a) == "a") }
        #expect(table.lookup(.v6(IPv6Address(high: .max, low: .max))) == nil)
        #expect(table.prefixes(of: "a").map(\.address) == addresses)
        for a in addresses {
            let removed = table.remove(K.prefix(a, 128), value: "a")
            #expect(removed)
        }
        #expect(table.nodeCount == 0)
        #expect(table.isEmpty)
    }

    @Test func orderIsInsertionOrderAndReinsertMovesToTheEnd() {
        var table = AllowedIPs<Int>()
        let p = ["10.0.0.0/8", "fd00::/8", "10.1.0.0/16", "0.0.0.0/0"].map { UAPISamples.prefix($0) }
        for prefix in p { table.insert(prefix, value: 1) }
        #expect(table.prefixes(of: 1) == p)
        table.insert(p[1], value: 1) // list_move_tail in the kernel, PushBack in wireguard-go
        #expect(table.prefixes(of: 1) == [p[0], p[2], p[3], p[1]])
        table.insert(p[0], value: 2) // moves to the other value
        #expect(table.prefixes(of: 1) == [p[2], p[3], p[1]])
        #expect(table.prefixes(of: 2) == [p[0]])
        #expect(table.count == 4)
        #expect(Set(table.values) == [1, 2])
        let removedFromWrongValue = table.remove(p[0], value: 1) // not its prefix any more
        #expect(!removedFromWrongValue)
        let removed = table.remove(p[0], value: 2)
        #expect(removed)
        #expect(table.prefixes(of: 2) == [])
        #expect(table.values == [1])
    }

    @Test func hostBitsAreMaskedAndLengthsAtTheEdges() {
        var table = AllowedIPs<String>()
        table.insert(UAPISamples.prefix("10.1.2.3/8"), value: "x")
        #expect(table.prefixes(of: "x") == [UAPISamples.prefix("10.0.0.0/8")])
        let removed = table.remove(UAPISamples.prefix("10.200.0.0/8"), value: "x") // same network
        #expect(removed)
        table.insert(UAPISamples.prefix("1.2.3.4/32"), value: "h")
        table.insert(UAPISamples.prefix("::1/128"), value: "h6")
        table.insert(UAPISamples.prefix("::/0"), value: "all6")
        #expect(table.lookup(IPAddress("1.2.3.4")!) == "h")
        #expect(table.lookup(IPAddress("1.2.3.5")!) == nil)
        #expect(table.lookup(IPAddress("::1")!) == "h6")
        #expect(table.lookup(IPAddress("::2")!) == "all6")
        // An IPv4-mapped IPv6 address is IPv6 here, as on the wire.
        #expect(table.lookup(IPAddress("::ffff:1.2.3.4")!) == "all6")
    }

    @Test func lookupFromPacketBytesOfOtherLengthsFindsNothing() {
        var table = AllowedIPs<String>()
        table.insert(UAPISamples.prefix("0.0.0.0/0"), value: "v4")
        table.insert(UAPISamples.prefix("::/0"), value: "v6")
        for n in [0, 1, 3, 5, 8, 15, 17, 32] {
            #expect([UInt8](repeating: 0, count: n).withUnsafeBytes { table.lookup(bytes: $0) } == nil)
        }
        #expect([UInt8](repeating: 0, count: 4).withUnsafeBytes { table.lookup(bytes: $0) } == "v4")
        // Unaligned bytes inside a larger packet buffer.
        let packet = [UInt8](repeating: 0xab, count: 40)
        #expect(packet.withUnsafeBytes { table.lookup(bytes: UnsafeRawBufferPointer(rebasing: $0[3..<19])) } == "v6")
    }
}

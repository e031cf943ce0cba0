import FerryTestSupport
import Testing
@testable import WireGuard

/// AllowedIPs against NaiveAllowedIPs on random data shaped like the kernel's randomized
/// self-test: random base routes, many routes mutated from each (so they nest and share
/// long prefixes), prefixes moved between peers and removed, lookups both random and
/// near the routes, then every peer removed until no node is left.
@Suite struct AllowedIPsRandomTests {
    struct Shape {
        var peers: Int
        var bases: Int
        var mutationsPerBase: Int
        var lookups: Int
        /// Prefix lengths to draw IPv6 routes from (all of them costs the naive model time).
        var v6Lengths: [Int]
    }

    /// IPv6 lengths around every byte edge, the 64-bit edge and both ends.
    static let v6EdgeLengths = [0, 1, 2, 7, 8, 9, 15, 16, 17, 31, 32, 33, 47, 48, 49, 63, 64, 65, 96, 97, 120, 126, 127, 128]

    @Test func bulkAgainstNaiveModel() {
        run(Shape(peers: 1000, bases: 2000, mutationsPerBase: 49, lookups: 1_000_000, v6Lengths: Self.v6EdgeLengths), seed: 0xA11A)
    }

    @Test func everyIPv6LengthAgainstNaiveModel() {
        run(Shape(peers: 100, bases: 200, mutationsPerBase: 49, lookups: 100_000, v6Lengths: Array(0...128)), seed: 0xA11B)
    }

    func run(_ shape: Shape, seed: UInt64) {
        var rng = SeededGenerator(seed: seed)
        var table = AllowedIPs<Int>()
        var naive = NaiveAllowedIPs()
        var routes: [IPPrefix] = []
        var moves = 0, removals = 0, mismatches = 0

        func randomPeer() -> Int { Int.random(in: 0..<shape.peers, using: &rng) }

        for _ in 0..<shape.bases {
            let v6 = rng.next() % 2 == 0
            let base = randomAddress(v6: v6, &rng)
            for _ in 0...shape.mutationsPerBase {
                // Keep the first `keep` bits of the base, randomize the rest.
                let bits = v6 ? 128 : 32
                let keep = Int.random(in: 0...bits, using: &rng)
                let address = mix(base, randomAddress(v6: v6, &rng), keep: keep)
                let length = v6 ? shape.v6Lengths[Int.random(in: 0..<shape.v6Lengths.count, using: &rng)] : Int.random(in: 0...32, using: &rng)
                guard let prefix = IPPrefix(address, length) else { continue }
                let peer = randomPeer()
                table.insert(prefix, value: peer)
                naive.insert(prefix, peer)
                routes.append(prefix)
                switch rng.next() % 10 {
                case 0: // move an earlier route to another peer
                    let old = routes[Int.random(in: 0..<routes.count, using: &rng)]
                    let other = randomPeer()
                    table.insert(old, value: other)
                    naive.insert(old, other)
                    moves += 1
                case 1: // remove an earlier route, with its owner or with some other peer
                    let old = routes[Int.random(in: 0..<routes.count, using: &rng)]
                    let who = rng.next() % 2 == 0 ? naive.owner(NaiveAllowedIPs.network(old)) ?? randomPeer() : randomPeer()
                    let removed = table.remove(old, value: who)
                    #expect(removed == naive.remove(old, who))
                    removals += removed ? 1 : 0
                default: break
                }
            }
        }
        #expect(routes.count >= shape.bases * shape.mutationsPerBase)
        #expect(moves > 0 && removals > 0)
        #expect(table.count == naive.count)

        for i in 0..<shape.lookups {
            let address = lookupAddress(routes, &rng)
            let found = table.lookup(address)
            if found != naive.lookup(address) { mismatches += 1 }
            if i % 16 == 0, address.bytes.withUnsafeBytes({ table.lookup(bytes: $0) }) != found { mismatches += 1 }
        }
        #expect(mismatches == 0)

        for peer in 0..<shape.peers {
            #expect(table.prefixes(of: peer) == (naive.lists[peer] ?? []), "peer \(peer)")
        }

        var order = Array(0..<shape.peers)
        order.shuffle(using: &rng)
        for peer in order {
            table.removeAll(value: peer)
            naive.removeAll(peer)
            for _ in 0..<(shape.lookups / shape.peers / 10) {
                let address = lookupAddress(routes, &rng)
                if table.lookup(address) != naive.lookup(address) { mismatches += 1 }
            }
            #expect(table.prefixes(of: peer).isEmpty)
        }
        #expect(mismatches == 0)
        #expect(table.isEmpty)
        #expect(table.nodeCount == 0)
        #expect(table.values.isEmpty)
    }

    /// Half random addresses, half inside (or just beside) a route.
    private func lookupAddress(_ routes: [IPPrefix], _ rng: inout SeededGenerator) -> IPAddress {
        let route = routes[Int.random(in: 0..<routes.count, using: &rng)]
        let v6 = !route.address.isIPv4
        let random = randomAddress(v6: v6, &rng)
        switch rng.next() % 4 {
        case 0, 1: return random
        case 2: return mix(route.address, random, keep: route.length)
        default: return mix(route.address, random, keep: max(route.length - 1, 0))
        }
    }

    private func randomAddress(v6: Bool, _ rng: inout SeededGenerator) -> IPAddress {
        v6 ? .v6(IPv6Address(high: rng.next(), low: rng.next())) : .v4(IPv4Address(UInt32(truncatingIfNeeded: rng.next())))
    }

    /// The first `keep` bits of `a`, the rest from `b` (same family).
    private func mix(_ a: IPAddress, _ b: IPAddress, keep: Int) -> IPAddress {
        switch (a, b) {
        case (.v4(let x), .v4(let y)):
            let m = NaiveAllowedIPs.mask4(keep)
            return .v4(IPv4Address(x.value & m | y.value & ~m))
        case (.v6(let x), .v6(let y)):
            let m = NaiveAllowedIPs.mask6(IPv6Address(high: .max, low: .max), keep)
            return .v6(IPv6Address(high: x.high & m.high | y.high & ~m.high, low: x.low & m.low | y.low & ~m.low))
        default:
            return a
        }
    }
}

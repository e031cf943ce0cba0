@testable import FerryCore
import Testing
import WireGuard

@Suite("Address pool and plan")
struct AddressTests {
    func prefix(_ s: String) -> IPPrefix { IPPrefix(s)! }

    @Test func tenThousandUniqueInASlash16() throws {
        let pool = try #require(AddressPool(prefix("10.20.0.0/16")))
        #expect(pool.capacity == 65534)
        var held = Set<IPv4Address>()
        var cursor: IPv4Address?
        for _ in 0..<10_000 {
            let (a, next) = try #require(pool.allocate(after: cursor) { held.contains($0) })
            #expect(held.insert(a).inserted)
            #expect(pool.prefix.contains(.v4(a)) && a != IPv4Address(10, 20, 0, 0) && a != IPv4Address(10, 20, 255, 255))
            cursor = next
        }
        #expect(held.count == 10_000)
    }

    @Test func exhaustionAndNextFitReuse() throws {
        let pool = try #require(AddressPool(prefix("192.0.2.8/29")))
        var held = Set<IPv4Address>()
        var cursor: IPv4Address?
        for _ in 0..<6 {
            let (a, next) = try #require(pool.allocate(after: cursor) { held.contains($0) })
            held.insert(a)
            cursor = next
        }
        #expect(held == Set((9...14).map { IPv4Address(192, 0, 2, UInt8($0)) }))
        #expect(pool.allocate(after: cursor) { held.contains($0) } == nil)
        held.remove(IPv4Address(192, 0, 2, 11))
        #expect(pool.allocate(after: cursor) { held.contains($0) }?.address == IPv4Address(192, 0, 2, 11))
        // Next-fit: with .9 and .11 free and the cursor past .11, .9 comes after the wrap.
        held.remove(IPv4Address(192, 0, 2, 9))
        #expect(pool.allocate(after: IPv4Address(192, 0, 2, 12)) { held.contains($0) }?.address == IPv4Address(192, 0, 2, 9))
    }

    @Test func pointToPointPrefixes() throws {
        #expect(AddressPool(prefix("10.0.0.0/31"))?.capacity == 2)
        #expect(AddressPool(prefix("10.0.0.5/32"))?.capacity == 1)
        #expect(AddressPool(prefix("fd00::/64")) == nil)
    }

    @Test func ipv6MirrorsIPv4() throws {
        let plan = AddressPlan(ipv4: prefix("10.10.0.0/16"), ipv6: prefix("fd12:3456:789a::/48"))
        #expect(plan.ipv6(for: IPv4Address(10, 10, 1, 5))?.description == "fd12:3456:789a::105")
        #expect(plan.ipv6(for: prefix("10.10.4.0/22"))?.description == "fd12:3456:789a::400/118")
        #expect(plan.ipv6(for: IPv4Address(10, 11, 0, 1)) == nil)
        #expect(plan.hostPrefixes(IPv4Address(10, 10, 0, 1)).map(\.description) == ["10.10.0.1/32", "fd12:3456:789a::1/128"])
        #expect(AddressPlan.validate(ipv4: prefix("10.0.0.0/8"), ipv6: prefix("fd00::/112"))?.field == "ipv6")
        #expect(AddressPlan.validate(ipv4: prefix("10.0.0.0/8"), ipv6: prefix("fd00::/104")) == nil)
    }

    @Test func segmentCarving() {
        let net = prefix("10.10.0.0/16")
        #expect(SegmentCarver.firstFree(in: net, length: 24, existing: [prefix("10.10.0.0/24")])?.description == "10.10.1.0/24")
        #expect(SegmentCarver.firstFree(in: net, length: 22, existing: [prefix("10.10.0.0/24")])?.description == "10.10.4.0/22")
        #expect(SegmentCarver.firstFree(in: prefix("10.10.0.0/24"), length: 24, existing: [prefix("10.10.0.0/24")]) == nil)
    }

    @Test func prefixSetOperations() {
        let a = [prefix("10.0.0.0/8"), prefix("10.1.0.0/16"), prefix("192.168.1.0/24")]
        #expect(PrefixSet.collapse(a).map(\.description) == ["10.0.0.0/8", "192.168.1.0/24"])
        #expect(PrefixSet.intersect([prefix("10.0.0.0/8")], [prefix("10.5.0.0/16"), prefix("172.16.0.0/12")]).map(\.description) == ["10.5.0.0/16"])
        #expect(PrefixSet.intersect([prefix("10.5.1.0/24")], [prefix("10.5.0.0/16")]).map(\.description) == ["10.5.1.0/24"])
        #expect(PrefixSet.intersect([prefix("10.5.1.0/24")], [prefix("10.6.0.0/16")]).isEmpty)
    }

    @Test func hostPorts() {
        #expect(HostPort("gw.example.com:51820")?.host == "gw.example.com")
        #expect(HostPort("[fd00::1]:51820")?.description == "[fd00::1]:51820")
        #expect(HostPort("203.0.113.1:51820")?.port == 51820)
        for bad in ["gw.example.com", "gw:0", "gw:65536", "-gw:1", "a b:1", ":1", "[fd00::1:1", "gw..x:1", ""] {
            #expect(HostPort(bad) == nil, "\(bad)")
        }
    }
}

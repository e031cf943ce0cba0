#if canImport(Glibc)
import FerryTestSupport
import Glibc
import Testing
@testable import WireGuard

/// The address parsers against glibc's inet_pton on random, address-shaped text.
/// (inet_pton is stricter or looser in the places noted; those are skipped.)
@Suite struct IPTextDifferentialTests {
    static let pieces = ["0", "1", "00", "ffff", "FFFF", "12345", "a", "::", ":", ".", "1.2.3.4", "255", "256", "01", "g", ""]

    @Test func ipv6AgainstInetPton() {
        var rng = SeededGenerator(seed: 0x1F6)
        var checked = 0
        for _ in 0..<50000 {
            var text = ""
            for _ in 0..<Int.random(in: 1...12, using: &rng) {
                text += Self.pieces[Int.random(in: 0..<Self.pieces.count, using: &rng)]
                if rng.next() % 2 == 0 { text += ":" }
            }
            var out = in6_addr()
            let theirs = inet_pton(AF_INET6, text, &out) == 1
            let ours = IPv6Address(text)
            #expect(theirs == (ours != nil), "\(text)")
            if let ours, theirs {
                let bytes = withUnsafeBytes(of: out) { Array($0) }
                #expect(ours.bytes == bytes, "\(text)")
            }
            checked += theirs ? 1 : 0
        }
        #expect(checked > 100)
    }

    @Test func ipv6FormattingMatchesInetNtop() {
        var rng = SeededGenerator(seed: 0x1F7)
        for _ in 0..<20000 {
            guard case .v6(let a) = RandomUAPI.address(&rng) else { continue }
            // glibc writes IPv4-compatible addresses (::a.b.c.d, deprecated) dotted; Go's
            // netip, and so wireguard-go and Ferry, write them in hex (see below).
            if a.high == 0, a.low >> 32 == 0, a.low >> 16 != 0 { continue }
            var addr = in6_addr()
            withUnsafeMutableBytes(of: &addr) { buf in for (i, b) in a.bytes.enumerated() { buf[i] = b } }
            var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
            guard inet_ntop(AF_INET6, &addr, &text, socklen_t(INET6_ADDRSTRLEN)) != nil else { continue }
            let theirs = String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            #expect(a.description == theirs)
            #expect(IPv6Address(theirs) == a)
        }
    }

    @Test func ipv4CompatibleAddressesAreWrittenAsGoDoes() {
        #expect(IPv6Address("::1.2.3.4")?.description == "::102:304")
        #expect(IPv6Address("::ffff:1.2.3.4")?.description == "::ffff:1.2.3.4")
    }

    @Test func ipv4AgainstInetPton() {
        var rng = SeededGenerator(seed: 0x1F4)
        let parts = ["0", "1", "255", "256", "01", "00", "999", "", "a", "1234"]
        for _ in 0..<20000 {
            let text = (0..<Int.random(in: 1...5, using: &rng))
                .map { _ in parts[Int.random(in: 0..<parts.count, using: &rng)] }.joined(separator: ".")
            var out = in_addr()
            let theirs = inet_pton(AF_INET, text, &out) == 1
            let ours = IPv4Address(text)
            #expect(theirs == (ours != nil), "\(text)")
            if let ours, theirs { #expect(ours.value == UInt32(bigEndian: out.s_addr), "\(text)") }
        }
    }
}
#endif

import Testing
@testable import WireGuard

private func bytes(_ t: TAI64N) -> [UInt8] {
    var out = [UInt8](repeating: 0, count: TAI64N.byteCount)
    out.withUnsafeMutableBytes { t.write(to: $0) }
    return out
}

@Suite struct TAI64NTests {
    @Test func layoutIsBigEndianLabelThenNanoseconds() {
        #expect(bytes(TAI64N(unixSeconds: 0, nanoseconds: 0)) == [0x40, 0, 0, 0, 0, 0, 0, 0x0a, 0, 0, 0, 0])
        #expect(bytes(TAI64N(unixSeconds: 1_700_000_000, nanoseconds: 0x0102_0304))
            == [0x40, 0, 0, 0, 0x65, 0x53, 0xf1, 0x0a, 0x01, 0x02, 0x03, 0x04])
    }

    @Test func roundTrip() throws {
        var rng = SplitMix64(state: 12)
        for _ in 0..<200 {
            let t = TAI64N(unixSeconds: .random(in: 0...(1 << 40), using: &rng), nanoseconds: .random(in: 0..<1_000_000_000, using: &rng))
            let parsed = try #require(bytes(t).withUnsafeBytes { TAI64N($0) })
            #expect(parsed == t)
        }
        #expect([UInt8](repeating: 0, count: 11).withUnsafeBytes { TAI64N($0) } == nil)
        #expect([UInt8](repeating: 0, count: 13).withUnsafeBytes { TAI64N($0) } == nil)
    }

    /// Later is greater, and `<` is the byte order a responder compares.
    @Test func orderingIsByteOrder() {
        var rng = SplitMix64(state: 34)
        for _ in 0..<500 {
            let s = UInt64.random(in: 0...3, using: &rng), n = UInt32.random(in: 0..<1_000_000_000, using: &rng)
            let a = TAI64N(unixSeconds: 1_700_000_000 + s, nanoseconds: n)
            let b = TAI64N(unixSeconds: 1_700_000_000 + UInt64.random(in: 0...3, using: &rng),
                           nanoseconds: .random(in: 0..<1_000_000_000, using: &rng))
            #expect((a < b) == bytes(a).lexicographicallyPrecedes(bytes(b)))
            #expect((a == b) == (bytes(a) == bytes(b)))
        }
        #expect(TAI64N(unixSeconds: 10, nanoseconds: 999_999_999) < TAI64N(unixSeconds: 11, nanoseconds: 0))
        #expect(TAI64N(unixSeconds: 10, nanoseconds: 5) < TAI64N(unixSeconds: 10, nanoseconds: 6))
    }

    /// As wireguard-go's tai64n_test.go: within one 2^24 ns step the handshake timestamp does not
    /// move; one nanosecond past the step it grows.
    @Test func handshakeWhitening() {
        var rng = SplitMix64(state: 56)
        for _ in 0..<500 {
            let seconds = UInt64.random(in: 1_600_000_000...1_900_000_000, using: &rng)
            let nanos = UInt32.random(in: 0..<1_000_000_000, using: &rng)
            let start = TAI64N.forHandshake(unixSeconds: seconds, nanoseconds: nanos)
            #expect(start.nanoseconds % (1 << 24) == 0)
            #expect(start.nanoseconds <= nanos && nanos - start.nanoseconds < 1 << 24)
            let toNext = 0x00ff_ffff - nanos & 0x00ff_ffff
            let sameStep = nanos + toNext
            #expect(TAI64N.forHandshake(unixSeconds: seconds, nanoseconds: sameStep) == start)
            let next = sameStep + 1
            let later = next >= 1_000_000_000
                ? TAI64N.forHandshake(unixSeconds: seconds + 1, nanoseconds: next - 1_000_000_000)
                : TAI64N.forHandshake(unixSeconds: seconds, nanoseconds: next)
            #expect(later > start)
        }
        #expect(TAI64N.forHandshake(unixSeconds: 5, nanoseconds: 999_999_999).nanoseconds == 0x3b00_0000)
    }

    @Test func extremesDoNotTrap() {
        #expect(TAI64N(unixSeconds: .max, nanoseconds: .max).label == .max)
        var short = [UInt8](repeating: 9, count: 11)
        short.withUnsafeMutableBytes { TAI64N(unixSeconds: 1, nanoseconds: 1).write(to: $0) }
        #expect(short == [UInt8](repeating: 9, count: 11))
    }
}

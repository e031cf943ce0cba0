import Testing
@testable import WireGuard

/// `allow` outside `#expect`, which cannot call mutating methods.
private func check(
    _ r: inout RateLimiter, _ source: IPAddress, _ now: Instant, _ expected: Bool, _ comment: Comment? = nil,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    let allowed = r.allow(source, now: now)
    #expect(allowed == expected, comment, sourceLocation: sourceLocation)
}

private func ip(_ s: String) -> IPAddress {
    guard let a = IPAddress(s) else { preconditionFailure("bad address literal \(s)") }
    return a
}

private let cost = Interval(nanoseconds: 1_000_000_000 / 20)

@Suite struct RateLimiterTests {
    /// The Linux driver's selftest/ratelimiter.c timings_test table, on a virtual clock:
    /// (allowed, time to wait before).
    static let expectedResults: [(Bool, Interval)] = [
        (true, .zero), (true, .zero), (true, .zero), (true, .zero), (true, .zero), // PACKETS_BURSTABLE
        (false, .zero),
        (true, cost),
        (false, .zero),
        (true, cost * 2),
        (true, .zero),
        (false, .zero),
    ]

    /// As the kernel's test: the source under test follows the table; at each step another
    /// IPv4 source and another IPv6 /64 are always allowed; the IPv6 source changes its
    /// low 64 bits at every step and still shares one bucket (its /64).
    @Test func kernelTimings() {
        var r = RateLimiter()
        var now = Instant(nanoseconds: 5_000_000_000)
        let v4 = IPv4Address(8182)
        let v6High = UInt64(1212) << 32 | 289_188
        for (i, (expected, wait)) in Self.expectedResults.enumerated() {
            now = now + wait
            check(&r, .v4(v4), now, expected, "v4 step \(i)")
            check(&r, .v4(IPv4Address(v4.value + UInt32(i) + 1)), now, true, "other v4 step \(i)")
            let low = UInt64(i) << 32 | UInt64(i)
            check(&r, .v6(IPv6Address(high: v6High, low: low)), now, expected, "v6 step \(i)")
            check(&r, .v6(IPv6Address(high: v6High + (UInt64(i) + 1) << 32, low: low)), now, true, "other /64 step \(i)")
        }
    }

    @Test func refillIsExactlyOnePacketPer50ms() {
        var r = RateLimiter()
        let t0 = Instant.zero
        let a = ip("192.0.2.1")
        for _ in 0..<5 { check(&r, a, t0, true) }
        check(&r, a, t0, false)
        check(&r, a, t0 + Interval(nanoseconds: cost.nanoseconds - 1), false) // 1 ns short
        check(&r, a, t0 + cost, true)
        check(&r, a, t0 + cost, false)
        // A long pause refills the burst, not more.
        let later = t0 + .seconds(3600)
        for _ in 0..<5 { check(&r, a, later, true) }
        check(&r, a, later, false)
        // Sustained 20/s is allowed forever; 21/s is not.
        var t = later
        for _ in 0..<200 {
            t = t + cost
            check(&r, a, t, true)
        }
        var refused = 0
        for _ in 0..<210 {
            t = t + Interval(nanoseconds: 1_000_000_000 / 21)
            if !r.allow(a, now: t) { refused += 1 }
        }
        #expect(refused >= 9 && refused <= 11)
    }

    @Test func sourcesAreIndependentAndIPv6GroupsBy64() {
        var r = RateLimiter()
        let t = Instant.zero
        for _ in 0..<5 { check(&r, ip("2001:db8:1:2::1"), t, true) }
        check(&r, ip("2001:db8:1:2:ffff:ffff:ffff:ffff"), t, false) // same /64
        check(&r, ip("2001:db8:1:3::1"), t, true) // next /64
        check(&r, ip("198.51.100.1"), t, true)
        check(&r, ip("198.51.100.2"), t, true)
        // IPv4 and IPv6 never share a bucket, even with the same bits.
        for _ in 0..<5 { check(&r, .v4(IPv4Address(0)), t, true) }
        check(&r, .v4(IPv4Address(0)), t, false)
        check(&r, .v6(IPv6Address(high: 0, low: 0)), t, true)
        #expect(r.count == 6)
    }

    /// The kernel's capacity_test: max_entries sources are allowed, the next new one is not.
    @Test(arguments: [1, 1000, RateLimiter.defaultMaximumEntries])
    func capacity(_ maximum: Int) {
        var r = RateLimiter(maximumEntries: maximum)
        let t = Instant.zero
        for i in 0...maximum {
            let allowed = r.allow(.v4(IPv4Address(UInt32(i))), now: t)
            if allowed != (i != maximum) { Issue.record("source \(i) of \(maximum): \(allowed)") }
        }
        #expect(r.count == maximum)
        // Known sources still get their buckets.
        check(&r, .v4(IPv4Address(0)), t, true)
    }

    @Test func garbageCollectionDropsIdleSourcesAndFreesRoom() {
        var r = RateLimiter(maximumEntries: 2)
        let t0 = Instant(nanoseconds: 1_000)
        check(&r, ip("10.0.0.1"), t0, true)
        check(&r, ip("10.0.0.2"), t0 + .milliseconds(600), true)
        check(&r, ip("10.0.0.3"), t0 + .milliseconds(600), false) // full
        r.collectGarbage(now: t0 + .seconds(1)) // idle exactly 1 s: kept, as the kernel's "> 1 s"
        #expect(r.count == 2)
        r.collectGarbage(now: t0 + .milliseconds(1001))
        #expect(r.count == 1)
        check(&r, ip("10.0.0.3"), t0 + .milliseconds(1001), true)
        r.collectGarbage(now: t0 + .seconds(10))
        #expect(r.count == 0)
    }

    @Test func aClockThatStepsBackRefillsNothing() {
        var r = RateLimiter()
        let a = ip("192.0.2.9")
        let t = Instant(nanoseconds: 10_000_000_000)
        for _ in 0..<5 { check(&r, a, t, true) }
        check(&r, a, t + .seconds(-5), false)
        check(&r, a, Instant(nanoseconds: .min), false)
        check(&r, a, t + cost, true) // measured from the latest time seen
        check(&r, a, Instant(nanoseconds: .max), true)
    }
}

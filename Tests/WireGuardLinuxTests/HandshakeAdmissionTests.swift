import Testing
import WireGuard
@testable import WireGuardLinux

/// The receivers' admission of handshake messages before any cryptography: one source gets
/// the kernel's 20 a second (5 at once) and no more, others are not affected, a table full
/// of (spoofed) sources does not lock newcomers out, and under load the receiver's budget
/// caps what is examined.
@Suite struct HandshakeAdmissionTests {
    let flooder = IPAddress.v4(IPv4Address(192, 0, 2, 66))
    let newcomer = IPAddress.v4(IPv4Address(198, 51, 100, 7))
    let start = Instant(nanoseconds: 5_000_000_000)

    @Test func oneSourceGetsItsShareAndOthersAreUntouched() {
        let admission = HandshakeAdmission()
        var admitted = 0
        // 10,000 messages from one address within 100 ms: the burst of 5 and 2 refills.
        for i in 0..<10_000 {
            let now = start + Interval(nanoseconds: Int64(i) * 10_000)
            if admission.admit(flooder, underLoad: false, now: now) == .examine { admitted += 1 }
        }
        #expect(admitted >= 5 && admitted <= 7, "admitted \(admitted)")
        #expect(admission.admit(newcomer, underLoad: false, now: start + .milliseconds(100)) == .examine)
        // A second later the flooder's bucket is full again.
        #expect(admission.admit(flooder, underLoad: false, now: start + .seconds(2)) == .examine)
        #expect(admission.counts.overSourceLimit == 10_000 - admitted)
    }

    @Test func spoofedSourcesDoNotLockOutNewcomers() {
        let admission = HandshakeAdmission()
        // More distinct sources than the table holds, all within one millisecond.
        for i in 0..<(RateLimiter.defaultMaximumEntries + 10) {
            let source = IPAddress.v4(IPv4Address(UInt32(0x0a00_0000 + i)))
            _ = admission.admit(source, underLoad: false, now: start)
        }
        #expect(admission.admit(newcomer, underLoad: false, now: start) == .examine)
    }

    @Test func underLoadTheReceiversBudgetCapsWhatIsExamined() {
        let admission = HandshakeAdmission()
        var examined = 0, overBudget = 0
        // 100,000 distinct sources in one second, under load.
        for i in 0..<100_000 {
            let source = IPAddress.v4(IPv4Address(UInt32(0x0b00_0000 + i)))
            let now = start + Interval(nanoseconds: Int64(i) * 10_000)
            switch admission.admit(source, underLoad: true, now: now) {
            case .examine: examined += 1
            case .overBudget: overBudget += 1
            case .overSourceLimit: break
            }
        }
        let budget = Int(HandshakeAdmission.budgetPerSecond)
        #expect(examined > budget / 2 && examined <= budget + 2_000 + 1, "examined \(examined)")
        #expect(overBudget == 100_000 - examined)
        // Not under load, the budget does not apply.
        #expect(admission.admit(newcomer, underLoad: false, now: start + .seconds(1)) == .examine)
    }

    @Test func reportsOnceASecond() {
        let admission = HandshakeAdmission()
        for i in 0..<50 { _ = admission.admit(flooder, underLoad: false, now: start + Interval(nanoseconds: Int64(i))) }
        let first = admission.report(now: start)
        #expect(first?.overSourceLimit == 45)
        _ = admission.admit(flooder, underLoad: false, now: start + .milliseconds(10))
        #expect(admission.report(now: start + .milliseconds(500)) == nil)
        #expect(admission.report(now: start + .seconds(1))?.overSourceLimit == 1)
        #expect(admission.report(now: start + .seconds(3)) == nil)
    }
}

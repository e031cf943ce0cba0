import FerryTestSupport
import Testing
@testable import WireGuard

/// The Linux driver's drivers/net/wireguard/selftest/counter.c (wg_packet_counter_selftest):
/// its 34 numbered cases as a table, then its bulk cases. wireguard-go's
/// replay/replay_test.go ports the same 34.
/// `accept` outside `#expect`, which cannot call mutating methods.
private func check(
    _ w: inout ReplayWindow, _ counter: UInt64, _ expected: Bool, _ comment: Comment? = nil,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    let accepted = w.accept(counter)
    #expect(accepted == expected, comment, sourceLocation: sourceLocation)
}

@Suite struct ReplayWindowTests {
    static let tLim = ReplayWindow.windowSize + 1 // T_LIM = COUNTER_WINDOW_SIZE + 1
    static let reject = ReplayWindow.rejectAfterMessages

    /// (counter, accepted), cases 1–34 in order, on one window.
    static let numberedCases: [(UInt64, Bool)] = [
        (0, true),                      //  1
        (1, true),                      //  2
        (1, false),                     //  3
        (9, true),                      //  4
        (8, true),                      //  5
        (7, true),                      //  6
        (7, false),                     //  7
        (tLim, true),                   //  8
        (tLim - 1, true),               //  9
        (tLim - 1, false),              // 10
        (tLim - 2, true),               // 11
        (2, true),                      // 12
        (2, false),                     // 13
        (tLim + 16, true),              // 14
        (3, false),                     // 15
        (tLim + 16, false),             // 16
        (tLim * 4, true),               // 17
        (tLim * 4 - (tLim - 1), true),  // 18
        (10, false),                    // 19
        (tLim * 4 - tLim, false),       // 20
        (tLim * 4 - (tLim + 1), false), // 21
        (tLim * 4 - (tLim - 2), true),  // 22
        (tLim * 4 + 1 - tLim, false),   // 23
        (0, false),                     // 24
        (reject, false),                // 25
        (reject - 1, true),             // 26
        (reject, false),                // 27
        (reject - 1, false),            // 28
        (reject - 2, true),             // 29
        (reject + 1, false),            // 30
        (reject + 2, false),            // 31
        (reject - 2, false),            // 32
        (reject - 3, true),             // 33
        (0, false),                     // 34
    ]

    @Test func constants() {
        #expect(ReplayWindow.windowSize == 8128)
        #expect(ReplayWindow.rejectAfterMessages == UInt64.max - 8192) // 2^64 − 2^13 − 1
        #expect(Self.numberedCases.count == 34)
    }

    @Test func numberedCases() {
        var window = ReplayWindow()
        for (i, (counter, expected)) in Self.numberedCases.enumerated() {
            check(&window, counter, expected, "case \(i + 1): \(counter)")
        }
    }

    @Test func bulkForward() {
        var w = ReplayWindow()
        for i in 1...ReplayWindow.windowSize { check(&w, i, true) }
        check(&w, 0, true)
        check(&w, 0, false)

        w.reset()
        for i in 2...(ReplayWindow.windowSize + 1) { check(&w, i, true) }
        check(&w, 1, true)
        check(&w, 0, false)
    }

    @Test func bulkBackward() {
        var w = ReplayWindow()
        for i in (0...ReplayWindow.windowSize).reversed() { check(&w, i, true) }

        w.reset()
        for i in (1...(ReplayWindow.windowSize + 1)).reversed() { check(&w, i, true) }
        check(&w, 0, false)

        w.reset()
        for i in (1...ReplayWindow.windowSize).reversed() { check(&w, i, true) }
        check(&w, ReplayWindow.windowSize + 1, true)
        check(&w, 0, false)

        w.reset()
        for i in (1...ReplayWindow.windowSize).reversed() { check(&w, i, true) }
        check(&w, 0, true)
        check(&w, ReplayWindow.windowSize + 1, true)
    }

    @Test func windowEdge() {
        var w = ReplayWindow()
        let greatest: UInt64 = 1_000_003
        check(&w, greatest, true)
        check(&w, greatest - ReplayWindow.windowSize - 1, false)
        check(&w, greatest - ReplayWindow.windowSize, true)
        check(&w, greatest - ReplayWindow.windowSize, false)
        check(&w, greatest - 1, true)
        check(&w, greatest, false)
    }

    /// Against a plain set of seen counters, for random walks with reordering and
    /// duplicates: accepted iff new, not past the limit, and within the window of the
    /// greatest accepted counter.
    @Test func randomAgainstModel() {
        var rng = SeededGenerator(seed: 0x5E9)
        for _ in 0..<20 {
            var w = ReplayWindow()
            var seen = Set<UInt64>()
            var greatest: UInt64?
            var next = rng.next() % 4 == 0 ? ReplayWindow.rejectAfterMessages - 20000 : 0
            for _ in 0..<20000 {
                let jump = switch rng.next() % 16 {
                case 0: rng.next() % 20000
                case 1: ReplayWindow.windowSize - 1 + rng.next() % 4 // around the window's edge
                default: rng.next() % 70
                }
                let back = rng.next() % 3 == 0
                let counter = back ? next &- min(next, jump) : next &+ jump
                next = max(next, counter &+ 1 > counter ? counter + 1 : counter)
                var expected = counter < ReplayWindow.rejectAfterMessages && !seen.contains(counter)
                if let g = greatest, counter < g, g - counter > ReplayWindow.windowSize { expected = false }
                check(&w, counter, expected, "\(counter)")
                if expected {
                    seen.insert(counter)
                    greatest = max(greatest ?? counter, counter)
                }
            }
        }
    }
}

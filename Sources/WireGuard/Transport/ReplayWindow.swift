/// The receive side's replay filter: the RFC 6479 bitmap the kernel uses
/// (drivers/net/wireguard/receive.c counter_validate), 8192 bits of which the last word
/// is never relied on, so counters up to 8128 behind the greatest one seen still count
/// as new once. Clearing whole words as the window moves avoids shifting the bitmap.
///
/// Check the counter only after the packet has been authenticated, or a forged packet
/// could move the window.
public struct ReplayWindow: Sendable {
    /// Bits in the bitmap (COUNTER_BITS_TOTAL).
    public static let bitsTotal = 8192
    /// How far behind the greatest counter a counter may be and still be accepted once
    /// (COUNTER_WINDOW_SIZE = 8192 − 64).
    public static let windowSize: UInt64 = 8192 - 64
    /// Counters from here on are refused: REJECT_AFTER_MESSAGES = 2^64 − 2^13 − 1.
    public static let rejectAfterMessages: UInt64 = .max - (1 << 13)

    private static let wordCount: UInt64 = 8192 / 64

    /// One more than the greatest counter accepted, 0 before the first: the kernel's
    /// `counter`, shifted by one so that the empty window needs no flag.
    private var top: UInt64 = 0
    private var bitmap = InlineArray<128, UInt64>(repeating: 0)

    public init() {}

    /// True the first time `counter` is seen, if it is not too old nor too large; records it.
    public mutating func accept(_ counter: UInt64) -> Bool {
        guard counter < Self.rejectAfterMessages else { return false }
        let position = counter + 1
        // Neither side can overflow: position < 2^64 − 2^13.
        guard Self.windowSize + position >= top else { return false }
        let word = position >> 6
        if position > top {
            let current = top >> 6
            let stale = min(word - current, Self.wordCount)
            var i: UInt64 = 1
            while i <= stale {
                bitmap[Int((current + i) & (Self.wordCount - 1))] = 0
                i += 1
            }
            top = position
        }
        let index = Int(word & (Self.wordCount - 1))
        let bit: UInt64 = 1 << (position & 63)
        let old = bitmap[index]
        bitmap[index] = old | bit
        return old & bit == 0
    }

    /// Forgets every counter, as for a new session.
    public mutating func reset() {
        self = ReplayWindow()
    }
}

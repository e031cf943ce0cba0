/// An address as a 128-bit string of bits for the trie, most significant bit first.
/// IPv4 addresses sit in the top 32 bits, the rest zero, so one set of bit operations
/// serves both families.
@usableFromInline
struct TrieKey: Hashable, Sendable {
    @usableFromInline var high: UInt64
    @usableFromInline var low: UInt64

    @inlinable init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    @inlinable init(v4: UInt32) {
        high = UInt64(v4) << 32
        low = 0
    }

    @inlinable init(_ address: IPAddress) {
        switch address {
        case .v4(let a): self.init(v4: a.value)
        case .v6(let a): self.init(high: a.high, low: a.low)
        }
    }

    func address(v6: Bool) -> IPAddress {
        v6 ? .v6(IPv6Address(high: high, low: low)) : .v4(IPv4Address(UInt32(truncatingIfNeeded: high >> 32)))
    }

    /// How many leading bits the two keys share (0...128).
    @inlinable func commonBits(_ other: TrieKey) -> Int {
        let h = high ^ other.high
        if h != 0 { return h.leadingZeroBitCount }
        return 64 + (low ^ other.low).leadingZeroBitCount
    }

    /// The bit at `position` (0 is the most significant); 0 past the end.
    @inlinable func bit(_ position: Int) -> Int {
        if position < 64 { return Int(truncatingIfNeeded: high >> UInt64(63 - position)) & 1 }
        if position < 128 { return Int(truncatingIfNeeded: low >> UInt64(127 - position)) & 1 }
        return 0
    }

    /// The key with every bit from `length` on cleared (IPv4 keys too: their low bits
    /// are zero anyway).
    func masked(_ length: Int) -> TrieKey {
        guard case .v6(let m) = IPPrefix.mask(.v6(IPv6Address(high: high, low: low)), length) else { return self }
        return TrieKey(high: m.high, low: m.low)
    }
}

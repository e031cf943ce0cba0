/// An IPv4 address as a number in host order (`10.0.0.1` is `0x0A000001`).
public struct IPv4Address: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var value: UInt32
    public init(_ value: UInt32) { self.value = value }
    public init(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) {
        value = UInt32(a) << 24 | UInt32(b) << 16 | UInt32(c) << 8 | UInt32(d)
    }

    /// Reads 4 bytes in network order.
    public init?(bytes: UnsafeRawBufferPointer) {
        guard bytes.count == 4 else { return nil }
        value = UInt32(bytes[0]) << 24 | UInt32(bytes[1]) << 16 | UInt32(bytes[2]) << 8 | UInt32(bytes[3])
    }

    /// Dotted-quad text: four decimal parts 0–255, no leading zeros.
    public init?(_ text: some StringProtocol) {
        var parts = 0, acc: UInt32 = 0, digits = 0, leadingZero = false
        var result: UInt32 = 0
        for c in text.utf8 {
            if c == UInt8(ascii: ".") {
                guard digits > 0, parts < 3 else { return nil }
                result = result << 8 | acc
                parts += 1; acc = 0; digits = 0; leadingZero = false
            } else if c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9") {
                guard !leadingZero, digits < 3 else { return nil }
                if digits == 0, c == UInt8(ascii: "0") { leadingZero = true }
                acc = acc * 10 + UInt32(c - UInt8(ascii: "0"))
                guard acc <= 255 else { return nil }
                digits += 1
            } else {
                return nil
            }
        }
        guard parts == 3, digits > 0 else { return nil }
        value = result << 8 | acc
    }

    public var bytes: [UInt8] { [UInt8(value >> 24), UInt8(value >> 16 & 0xff), UInt8(value >> 8 & 0xff), UInt8(value & 0xff)] }
    public var description: String { "\(value >> 24).\(value >> 16 & 0xff).\(value >> 8 & 0xff).\(value & 0xff)" }
    public static func < (a: Self, b: Self) -> Bool { a.value < b.value }
}

/// An IPv6 address as a 128-bit number split in two host-order halves.
public struct IPv6Address: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var high: UInt64
    public var low: UInt64
    public init(high: UInt64, low: UInt64) { self.high = high; self.low = low }

    /// Reads 16 bytes in network order.
    public init?(bytes: UnsafeRawBufferPointer) {
        guard bytes.count == 16 else { return nil }
        var h: UInt64 = 0, l: UInt64 = 0
        for i in 0..<8 { h = h << 8 | UInt64(bytes[i]) }
        for i in 8..<16 { l = l << 8 | UInt64(bytes[i]) }
        high = h; low = l
    }

    /// RFC 4291 text: eight groups, `::` once, an embedded dotted quad at the end allowed.
    public init?(_ text: some StringProtocol) {
        guard let groups = IPv6Text.parse(Array(text.utf8)) else { return nil }
        var h: UInt64 = 0, l: UInt64 = 0
        for i in 0..<4 { h = h << 16 | UInt64(groups[i]) }
        for i in 4..<8 { l = l << 16 | UInt64(groups[i]) }
        high = h; low = l
    }

    public var groups: [UInt16] {
        (0..<4).map { UInt16(truncatingIfNeeded: high >> (48 - 16 * UInt64($0))) }
            + (0..<4).map { UInt16(truncatingIfNeeded: low >> (48 - 16 * UInt64($0))) }
    }

    public var bytes: [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: high >> (56 - 8 * UInt64($0))) }
            + (0..<8).map { UInt8(truncatingIfNeeded: low >> (56 - 8 * UInt64($0))) }
    }

    /// RFC 5952 canonical text: lowercase, longest run of two or more zero groups as `::`.
    public var description: String { IPv6Text.format(groups) }

    public static func < (a: Self, b: Self) -> Bool { (a.high, a.low) < (b.high, b.low) }
}

/// An IPv4 or IPv6 address.
public enum IPAddress: Hashable, Sendable, Comparable, CustomStringConvertible {
    case v4(IPv4Address)
    case v6(IPv6Address)

    public init?(_ text: some StringProtocol) {
        if let a = IPv4Address(text) { self = .v4(a) } else if let a = IPv6Address(text) { self = .v6(a) } else { return nil }
    }

    /// 32 for IPv4, 128 for IPv6.
    public var bitWidth: Int {
        switch self { case .v4: 32; case .v6: 128 }
    }

    public var isIPv4: Bool { if case .v4 = self { true } else { false } }

    public var bytes: [UInt8] {
        switch self { case .v4(let a): a.bytes; case .v6(let a): a.bytes }
    }

    public var description: String {
        switch self { case .v4(let a): a.description; case .v6(let a): a.description }
    }

    public static func < (a: Self, b: Self) -> Bool {
        switch (a, b) {
        case (.v4(let x), .v4(let y)): x < y
        case (.v6(let x), .v6(let y)): x < y
        case (.v4, .v6): true
        case (.v6, .v4): false
        }
    }
}

/// Parsing and RFC 5952 formatting of IPv6 text.
enum IPv6Text {
    static func parse(_ s: [UInt8]) -> [UInt16]? {
        guard !s.isEmpty, s.count <= 45 else { return nil }
        var head: [UInt16] = [], tail: [UInt16] = []
        var sawDoubleColon = false
        var i = 0
        // A leading "::" is the only way to start with a colon.
        if s[0] == UInt8(ascii: ":") {
            guard s.count >= 2, s[1] == UInt8(ascii: ":") else { return nil }
            sawDoubleColon = true
            i = 2
            if i == s.count { return [UInt16](repeating: 0, count: 8) }
        }
        while i < s.count {
            // Either a hex group or, at the very end, an embedded IPv4 address.
            var j = i
            var value: UInt32 = 0
            while j < s.count, j - i < 5, let n = HexKey.nibble(s[j]) { value = value << 4 | UInt32(n); j += 1 }
            if j < s.count, s[j] == UInt8(ascii: ".") {
                guard let v4 = IPv4Address(String(decoding: s[i...], as: UTF8.self)) else { return nil }
                let parts = [UInt16(v4.value >> 16), UInt16(v4.value & 0xffff)]
                if sawDoubleColon { tail += parts } else { head += parts }
                i = s.count
                break
            }
            guard j > i, j - i <= 4 else { return nil }
            if sawDoubleColon { tail.append(UInt16(value)) } else { head.append(UInt16(value)) }
            i = j
            if i == s.count { break }
            guard s[i] == UInt8(ascii: ":") else { return nil }
            i += 1
            if i < s.count, s[i] == UInt8(ascii: ":") {
                guard !sawDoubleColon else { return nil }
                sawDoubleColon = true
                i += 1
                if i == s.count { break }
            } else if i == s.count {
                return nil  // a trailing single colon
            }
        }
        let total = head.count + tail.count
        if sawDoubleColon {
            guard total <= 7 else { return nil }
            return head + [UInt16](repeating: 0, count: 8 - total) + tail
        }
        guard total == 8 else { return nil }
        return head
    }

    static func format(_ g: [UInt16]) -> String {
        // Find the longest run of zero groups (length ≥ 2), first one on ties.
        var bestStart = -1, bestLen = 0, runStart = -1
        for i in 0...8 {
            if i < 8, g[i] == 0 {
                if runStart < 0 { runStart = i }
            } else if runStart >= 0 {
                let len = i - runStart
                if len > bestLen, len >= 2 { bestStart = runStart; bestLen = len }
                runStart = -1
            }
        }
        let hex = { (v: UInt16) in String(v, radix: 16) }
        // IPv4-mapped addresses keep the dotted tail (::ffff:1.2.3.4).
        if bestStart == 0, bestLen == 5, g[5] == 0xffff {
            return "::ffff:\(g[6] >> 8).\(g[6] & 0xff).\(g[7] >> 8).\(g[7] & 0xff)"
        }
        if bestStart < 0 { return g.map(hex).joined(separator: ":") }
        let left = g[0..<bestStart].map(hex).joined(separator: ":")
        let right = g[(bestStart + bestLen)...].map(hex).joined(separator: ":")
        return left + "::" + right
    }
}

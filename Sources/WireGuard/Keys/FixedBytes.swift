/// A fixed-size byte string held inline (no heap): keys, hashes, chaining keys, MACs,
/// nonces. `withUnsafeBytes` sees the bytes exactly as they appear on the wire.
public struct FixedBytes<let count: Int>: Sendable {
    @usableFromInline var storage: InlineArray<count, UInt8>

    public static var byteCount: Int { count }
    public static var zero: Self { Self() }

    @inlinable public init() { storage = InlineArray(repeating: 0) }

    /// Copies exactly `count` bytes; nil for any other length.
    @inlinable public init?(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count == count else { return nil }
        self.init()
        Swift.withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: bytes) }
    }

    /// Copies exactly `count` bytes; nil for any other length.
    @inlinable public init?<C: Collection>(bytes: C) where C.Element == UInt8 {
        guard bytes.count == count else { return nil }
        self.init()
        var i = 0
        for b in bytes { storage[i] = b; i += 1 }
    }

    /// Lets `body` write all `count` bytes in place.
    @inlinable public init(filling body: (UnsafeMutableRawBufferPointer) throws -> Void) rethrows {
        self.init()
        try Swift.withUnsafeMutableBytes(of: &storage) { try body($0) }
    }

    @inlinable public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try Swift.withUnsafeBytes(of: storage) { try body($0) }
    }

    @inlinable public mutating func withUnsafeMutableBytes<R>(_ body: (UnsafeMutableRawBufferPointer) throws -> R) rethrows -> R {
        try Swift.withUnsafeMutableBytes(of: &storage) { try body($0) }
    }

    public var bytes: [UInt8] { withUnsafeBytes { Array($0) } }

    /// True when every byte is zero; looks at every byte whatever it finds.
    public var isZero: Bool {
        var acc: UInt8 = 0
        for i in 0..<count { acc |= storage[i] }
        return acc == 0
    }

    /// Overwrites the bytes with zeros, for secrets that must not linger.
    @inlinable public mutating func zeroize() {
        for i in 0..<count { storage[i] = 0 }
    }

    /// Comparison whose time does not depend on where the bytes differ (for secrets and MACs).
    public func constantTimeEquals(_ other: Self) -> Bool {
        var acc: UInt8 = 0
        for i in 0..<count { acc |= storage[i] ^ other.storage[i] }
        return acc == 0
    }
}

extension FixedBytes: Equatable {
    public static func == (a: Self, b: Self) -> Bool { a.constantTimeEquals(b) }
}

extension FixedBytes: Hashable {
    public func hash(into hasher: inout Hasher) {
        withUnsafeBytes { hasher.combine(bytes: $0) }
    }
}

extension FixedBytes: ReadableBytes {}

/// Keys, hashes and chaining keys.
public typealias Bytes32 = FixedBytes<32>
/// MACs, cookies and AEAD tags.
public typealias Bytes16 = FixedBytes<16>
/// XChaCha20-Poly1305 nonces.
public typealias Bytes24 = FixedBytes<24>

/// Anything whose bytes can be borrowed contiguously: the core's own small stand-in for
/// Foundation's `ContiguousBytes`, so the protocol code needs no Foundation.
public protocol ReadableBytes {
    func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R
}

extension Array: ReadableBytes where Element == UInt8 {}
extension ArraySlice: ReadableBytes where Element == UInt8 {}
extension UnsafeRawBufferPointer: ReadableBytes {
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R { try body(self) }
}

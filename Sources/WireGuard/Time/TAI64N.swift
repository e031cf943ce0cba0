/// A TAI64N timestamp as a handshake initiation carries it (whitepaper §5.4.2): 12 bytes big
/// endian, an 8-byte TAI64 label then 4 bytes of nanoseconds. Like wireguard-go and the
/// kernel, the label is 2^62 + 10 + Unix seconds (leap seconds since 1970 are ignored: the
/// timestamp only has to grow). Ordering is that of the bytes, as a responder compares them.
public struct TAI64N: Hashable, Comparable, Sendable, CustomStringConvertible {
    public static let byteCount = 12

    /// The label of the Unix epoch: 2^62, plus TAI − UTC (10 s) in 1970.
    static let unixEpochLabel: UInt64 = 0x4000_0000_0000_000a
    /// wireguard-go's whitener (tai64n.go): the low 24 bits of the nanoseconds are cleared,
    /// leaving steps of 2^24 ns (about 16.8 ms), so the timestamp does not reveal a precise clock.
    static let whitenerMask: UInt32 = 0x00ff_ffff

    /// The TAI64 label (seconds).
    public let label: UInt64
    public let nanoseconds: UInt32

    /// `nanoseconds` should be below 10^9; it is kept as given. A time too far out for the
    /// label saturates rather than wraps.
    public init(unixSeconds: UInt64, nanoseconds: UInt32) {
        let (label, overflow) = Self.unixEpochLabel.addingReportingOverflow(unixSeconds)
        self.label = overflow ? .max : label
        self.nanoseconds = nanoseconds
    }

    /// Parses exactly 12 bytes; nil for any other length. Any 12 bytes are accepted, as by
    /// wireguard-go and the kernel, which only compare them.
    public init?(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count == Self.byteCount else { return nil }
        label = UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: 0, as: UInt64.self))
        nanoseconds = UInt32(bigEndian: bytes.loadUnaligned(fromByteOffset: 8, as: UInt32.self))
    }

    /// Writes the 12 bytes at the start of `out`; writes nothing if `out` is shorter.
    public func write(to out: UnsafeMutableRawBufferPointer) {
        guard out.count >= Self.byteCount else { return }
        out.storeBytes(of: label.bigEndian, toByteOffset: 0, as: UInt64.self)
        out.storeBytes(of: nanoseconds.bigEndian, toByteOffset: 8, as: UInt32.self)
    }

    /// The timestamp a handshake initiation carries: the nanoseconds rounded down to a multiple
    /// of 2^24 as wireguard-go's whitener does (device/noise-protocol.go uses tai64n.Now()).
    public static func forHandshake(unixSeconds: UInt64, nanoseconds: UInt32) -> TAI64N {
        TAI64N(unixSeconds: unixSeconds, nanoseconds: nanoseconds & ~whitenerMask)
    }

    public static func < (a: TAI64N, b: TAI64N) -> Bool {
        (a.label, a.nanoseconds) < (b.label, b.nanoseconds)
    }

    public var description: String {
        label >= Self.unixEpochLabel
            ? "TAI64N(unix \(label - Self.unixEpochLabel) s + \(nanoseconds) ns)"
            : "TAI64N(label \(label) + \(nanoseconds) ns)"
    }
}

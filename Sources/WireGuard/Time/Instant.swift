/// A point on a monotonic clock that the caller owns, in nanoseconds since an arbitrary
/// origin. The core never reads a clock: every call that needs the time is given one, so
/// tests can drive minutes of timers in microseconds.
public struct Instant: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var nanoseconds: Int64

    @inlinable public init(nanoseconds: Int64) { self.nanoseconds = nanoseconds }

    public static let zero = Instant(nanoseconds: 0)

    @inlinable public static func < (a: Instant, b: Instant) -> Bool { a.nanoseconds < b.nanoseconds }

    /// `self + interval`, saturating instead of overflowing.
    @inlinable public func adding(_ interval: Interval) -> Instant {
        let (r, o) = nanoseconds.addingReportingOverflow(interval.nanoseconds)
        return Instant(nanoseconds: o ? (interval.nanoseconds > 0 ? .max : .min) : r)
    }

    /// `self - earlier`, saturating.
    @inlinable public func since(_ earlier: Instant) -> Interval {
        let (r, o) = nanoseconds.subtractingReportingOverflow(earlier.nanoseconds)
        return Interval(nanoseconds: o ? (earlier.nanoseconds > 0 ? .min : .max) : r)
    }

    @inlinable public static func + (a: Instant, b: Interval) -> Instant { a.adding(b) }
    @inlinable public static func - (a: Instant, b: Instant) -> Interval { a.since(b) }

    public var description: String { "t+\(Interval(nanoseconds: nanoseconds))" }
}

/// A span of time in nanoseconds. Cheaper than `Duration` on the packet path.
public struct Interval: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var nanoseconds: Int64

    @inlinable public init(nanoseconds: Int64) { self.nanoseconds = nanoseconds }
    @inlinable public static func seconds(_ s: Int64) -> Interval { Interval(nanoseconds: s * 1_000_000_000) }
    @inlinable public static func milliseconds(_ ms: Int64) -> Interval { Interval(nanoseconds: ms * 1_000_000) }

    public static let zero = Interval(nanoseconds: 0)

    @inlinable public static func < (a: Interval, b: Interval) -> Bool { a.nanoseconds < b.nanoseconds }
    @inlinable public static func + (a: Interval, b: Interval) -> Interval { Interval(nanoseconds: a.nanoseconds &+ b.nanoseconds) }
    @inlinable public static func * (a: Interval, n: Int64) -> Interval { Interval(nanoseconds: a.nanoseconds &* n) }

    public var description: String {
        let ms = Double(nanoseconds) / 1e6
        return ms.magnitude >= 1000 ? "\(ms / 1000)s" : "\(ms)ms"
    }
}

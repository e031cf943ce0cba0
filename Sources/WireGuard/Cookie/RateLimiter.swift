/// The per-source limit on handshake messages that pass the cookie check under load, as
/// the kernel's ratelimiter.c: a token bucket per IPv4 address or per IPv6 /64, refilled
/// at 20 packets a second and holding at most 5.
///
/// The caller passes the time (`Instant`) and calls `collectGarbage(now:)` about once a
/// second; entries idle for more than a second are dropped then. The table holds at most
/// `maximumEntries` sources; a new source beyond that is refused, as in the kernel.
public struct RateLimiter: Sendable {
    public static let packetsPerSecond: Int64 = 20
    public static let packetsBurstable: Int64 = 5
    /// Tokens are nanoseconds: a packet costs 1/20 s of refill.
    static let packetCost: Int64 = 1_000_000_000 / packetsPerSecond
    static let tokenMax: Int64 = packetCost * packetsBurstable
    /// Entries idle for longer than this are dropped by `collectGarbage`.
    public static let idleTimeout = Interval.seconds(1)
    /// The kernel's bound on machines with more than 1 GiB of memory: 8 × 8192 buckets.
    public static let defaultMaximumEntries = 8 * 8192

    enum Source: Hashable, Sendable {
        case v4(UInt32)
        /// The top 64 bits: one bucket per /64, as one host may own a whole /64.
        case v6(UInt64)

        init(_ address: IPAddress) {
            switch address {
            case .v4(let a): self = .v4(a.value)
            case .v6(let a): self = .v6(a.high)
            }
        }
    }

    struct Bucket: Sendable {
        var lastTime: Instant
        var tokens: Int64
    }

    public let maximumEntries: Int
    private var table: [Source: Bucket] = [:]

    public init(maximumEntries: Int = RateLimiter.defaultMaximumEntries) {
        self.maximumEntries = max(maximumEntries, 0)
    }

    /// Sources currently tracked.
    public var count: Int { table.count }

    /// True when a handshake message from `source` may be processed at `now`. A new source
    /// when the table is full gets `whenFull`: false as the kernel (whose table only sources
    /// that proved their address with a cookie enter); true for a limiter that sees every
    /// handshake message (spoofed sources would otherwise fill it and lock everyone out).
    public mutating func allow(_ source: IPAddress, now: Instant, whenFull: Bool = false) -> Bool {
        let key = Source(source)
        if let i = table.index(forKey: key) {
            var bucket = table.values[i]
            // A clock that steps back refills nothing (the kernel's clock cannot).
            let elapsed = min(max(now.since(bucket.lastTime).nanoseconds, 0), Self.tokenMax)
            let tokens = min(bucket.tokens + elapsed, Self.tokenMax)
            let allowed = tokens >= Self.packetCost
            bucket.tokens = allowed ? tokens - Self.packetCost : tokens
            bucket.lastTime = max(bucket.lastTime, now)
            table.values[i] = bucket
            return allowed
        }
        guard table.count < maximumEntries else { return whenFull }
        table[key] = Bucket(lastTime: now, tokens: Self.tokenMax - Self.packetCost)
        return true
    }

    /// Drops the sources not seen for more than `idleTimeout` before `now`.
    public mutating func collectGarbage(now: Instant) {
        table = table.filter { now.since($0.value.lastTime) <= Self.idleTimeout }
    }

    /// Forgets every source.
    public mutating func removeAll() {
        table.removeAll()
    }
}

import Foundation

/// How much of the machine one ferryd lets its clients hold (docs/ferryd.md, "Limits").
/// Every bound is explicit so that no client, however many connections or requests it
/// opens, can starve /health or the agents' long polls.
public struct ServerLimits: Sendable {
    /// Open HTTP connections; past it the oldest idle connection is closed for the new one.
    /// nil: derived from the open-file limit (see `effectiveMaxConnections`).
    public var maxConnections: Int?
    /// A keep-alive connection with no request is closed after this.
    public var idleTimeout: Duration = .seconds(60)
    /// From a request's first byte to the end of its headers.
    public var headerTimeout: Duration = .seconds(10)
    /// From the end of the headers to the end of the body.
    public var bodyTimeout: Duration = .seconds(30)
    /// Waiting long polls (GET .../netmap?since=..&wait=..), in total and per token.
    public var longPolls: Int?
    public var longPollsPerToken = 16
    /// Writes (every method but GET and HEAD) per token: a bucket of `writeBurst` refilled
    /// at `writeRate` per second; 0 turns the limit off.
    public var writeRate: Double = 20
    public var writeBurst = 100
    /// Graceful shutdown: in-flight requests get this long after waiting long polls are
    /// answered, then the rest are cut.
    public var drainTimeout: Duration = .milliseconds(1500)

    public init() {}

    /// File descriptors kept for everything but client connections: the listener, SQLite
    /// (database, WAL, shared memory), the gateway's UAPI socket and netlink, logs.
    static let reservedDescriptors = 64

    /// The connection cap: the configured one, never more than the open-file limit allows
    /// (an accept that fails with EMFILE makes NIO stop accepting for a while, which would
    /// starve /health); without one, the whole allowance up to 16,384.
    public func effectiveMaxConnections(openFileLimit: Int = ServerLimits.openFileLimit()) -> Int {
        let allowed = max(1, openFileLimit - Self.reservedDescriptors)
        return min(maxConnections ?? 16_384, allowed)
    }

    /// Long polls in total: the configured number, or three quarters of the connections
    /// (the rest stay free for /health, reports and admin requests).
    public func effectiveLongPolls(maxConnections: Int) -> Int {
        longPolls ?? max(1, maxConnections * 3 / 4)
    }

    /// The soft RLIMIT_NOFILE.
    public static func openFileLimit() -> Int {
        var r = rlimit()
        guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &r) == 0 else { return 1024 }
        return r.rlim_cur == rlim_t.max ? Int.max / 2 : Int(clamping: r.rlim_cur)
    }

    /// Raises the soft open-file limit to the hard one (capped at `cap`), as Go programs
    /// do: the default soft limit of 1,024 is a relic of select(2), which NIO does not use.
    /// Returns the soft limit in force afterwards.
    @discardableResult
    public static func raiseOpenFileLimit(cap: Int = 1 << 20) -> Int {
        var r = rlimit()
        guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &r) == 0 else { return openFileLimit() }
        let target = min(r.rlim_max, rlim_t(cap))
        if r.rlim_cur < target {
            r.rlim_cur = target
            _ = setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &r)
        }
        return openFileLimit()
    }
}

import WireGuard

/// What one UDP receiver lets through to the cookie checks and the handshake queue, decided
/// before any cryptography, allocation or lock (issue 13: a flood at full rate must not
/// starve transport data on the same socket, nor keep a legitimate peer out):
///
/// - **Per source** (the kernel's ratelimiter: 20 messages a second, 5 at once, per IPv4
///   address or IPv6 /64), for every handshake message, under load or not. One sender can
///   then never cost more than 20 MAC checks and DHs a second, and so cannot put the device
///   under load for everyone: a newcomer from another address is answered at once, without
///   the cookie round trip (which costs it a 5 s retry). Unlike the kernel's table, which
///   only sources that proved their address enter, this one sees spoofed sources: a new
///   source when it is full is let through to the cookie checks, not refused.
/// - **Per receiver, under load**: at most `budgetPerSecond` messages a second get their MACs
///   checked (and, without a cookie, a cookie reply); the rest of a flood from many (spoofed)
///   sources is dropped for the cost of counting it, so the thread keeps draining its socket
///   and the transport data queued in it between the flood's datagrams.
///
/// Owned by one receiver thread: no locks. A receiver sees every datagram of its address
/// family, so the per-source counts are complete.
final class HandshakeAdmission {
    /// MAC checks a second under load, per receiver. A cookie check costs two BLAKE2s (and a
    /// reply one XChaCha20-Poly1305 more): some microseconds each even in a debug build, so
    /// this bounds the flood's cost to a fraction of one core.
    static let budgetPerSecond: Int64 = 20_000
    private var limiter = RateLimiter()
    private var budget = TokenBucket(perSecond: HandshakeAdmission.budgetPerSecond, burst: 2_000)
    private var sweptAt: Instant?
    /// The last source refused and until when it stays refused without a table lookup: a
    /// flood from one address comes in runs, and its drops cost one comparison each. (It
    /// can refuse a message up to 1 ms before the bucket would allow it again: nothing at
    /// 20 a second.)
    private var refused: (source: IPAddress, until: Instant)?
    /// What happened since the last report (`report`), for one summary line a second instead
    /// of one line per flood datagram.
    private(set) var counts = Counts()
    private var reportedAt: Instant?
    private var linesThisSecond = 0

    struct Counts: Equatable {
        var overSourceLimit = 0
        var overBudget = 0
        var cookieReplies = 0
        var isEmpty: Bool { self == Counts() }
    }

    enum Verdict: Equatable {
        /// Check its MACs.
        case examine
        /// Its source sent more than its share.
        case overSourceLimit
        /// Under load, this receiver has checked its budget's worth this second.
        case overBudget
    }

    /// Whether a handshake message from `source` gets any further at `now`.
    func admit(_ source: IPAddress, underLoad: Bool, now: Instant) -> Verdict {
        if sweptAt.map({ now - $0 >= RateLimiter.idleTimeout }) ?? true {
            limiter.collectGarbage(now: now)
            sweptAt = now
        }
        if let refused, refused.source == source, now < refused.until {
            counts.overSourceLimit += 1
            return .overSourceLimit
        }
        guard limiter.allow(source, now: now, whenFull: true) else {
            refused = (source, now + .milliseconds(1))
            counts.overSourceLimit += 1
            return .overSourceLimit
        }
        guard !underLoad || budget.take(now: now) else {
            counts.overBudget += 1
            return .overBudget
        }
        return .examine
    }

    /// Counts a cookie reply; true when it may be logged by itself (a few lines a second).
    func cookieReplySent(now: Instant) -> Bool {
        counts.cookieReplies += 1
        guard linesThisSecond < 5 else { return false }
        linesThisSecond += 1
        return true
    }

    /// Once a second at most: what was dropped or answered since the last report, or nil
    /// when nothing was (or the second is not over).
    func report(now: Instant) -> Counts? {
        guard reportedAt.map({ now - $0 >= .seconds(1) }) ?? true else { return nil }
        reportedAt = now
        linesThisSecond = 0
        defer { counts = Counts() }
        return counts.isEmpty ? nil : counts
    }
}

/// A token bucket in nanoseconds: `perSecond` tokens a second, at most `burst` saved.
struct TokenBucket {
    private let cost: Int64
    private let capacity: Int64
    private var tokens: Int64
    private var last: Instant?

    init(perSecond: Int64, burst: Int64) {
        cost = 1_000_000_000 / max(perSecond, 1)
        capacity = cost * max(burst, 1)
        tokens = capacity
    }

    mutating func take(now: Instant) -> Bool {
        if let last {
            // A clock that steps back refills nothing.
            tokens = min(capacity, tokens + min(max((now - last).nanoseconds, 0), capacity))
        }
        last = now
        guard tokens >= cost else { return false }
        tokens -= cost
        return true
    }
}

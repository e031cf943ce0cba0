import Foundation
import Synchronization

/// Writes per token: a token bucket of `burst` requests refilled at `rate` per second.
/// Only authenticated callers reach it, so it holds one bucket per live token at most
/// (full buckets are dropped when it grows).
final class WriteRateLimiter: Sendable {
    struct Bucket {
        var tokens: Double
        var at: ContinuousClock.Instant
    }

    let rate: Double
    let burst: Double
    private let buckets = Mutex<[String: Bucket]>([:])

    init(rate: Double, burst: Int) {
        self.rate = rate
        self.burst = Double(max(1, burst))
    }

    var enabled: Bool { rate > 0 }

    /// Takes one write from `token`'s bucket, or throws a 429 saying when one is free.
    func admit(_ token: String, now: ContinuousClock.Instant = .now) throws(TooManyRequests) {
        guard enabled else { return }
        let wait: Double? = buckets.withLock { b in
            if b.count > 10_000 { b = b.filter { now.seconds(since: $0.value.at) * rate + $0.value.tokens < burst } }
            var bucket = b[token] ?? Bucket(tokens: burst, at: now)
            bucket.tokens = min(burst, bucket.tokens + now.seconds(since: bucket.at) * rate)
            bucket.at = now
            defer { b[token] = bucket }
            guard bucket.tokens >= 1 else { return (1 - bucket.tokens) / rate }
            bucket.tokens -= 1
            return nil
        }
        if let wait {
            let seconds = max(1, Int(wait.rounded(.up)))
            throw TooManyRequests(code: "rate_limited",
                                  message: "this token may make \(Int(burst)) writes at once, then \(rate.formatted()) per second; retry in \(seconds) s",
                                  retryAfterSeconds: seconds)
        }
    }
}

extension ContinuousClock.Instant {
    /// Seconds from `earlier` to this instant (0 when it is not earlier).
    func seconds(since earlier: ContinuousClock.Instant) -> Double {
        let d = self - earlier
        guard d > .zero else { return 0 }
        return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }
}

/// Durations as people type them on command lines: `500ms`, `20s`, `30m`, `12h`, `30d`.
public enum DurationText {
    /// The duration in milliseconds; nil unless it is a positive whole number with a unit.
    public static func milliseconds(_ s: String) -> Int64? {
        let units: [(String, Int64)] = [("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000), ("d", 86_400_000)]
        for (suffix, factor) in units where s.hasSuffix(suffix) {
            guard let n = Int64(s.dropLast(suffix.count)), n > 0, n < Int64.max / factor else { return nil }
            return n * factor
        }
        return nil
    }

    /// Seconds in the largest units that fit, `1h 5m`, `45s`, for people reading a TTL.
    public static func format(seconds: Int64) -> String {
        if seconds <= 0 { return "0s" }
        let d = seconds / 86400, h = seconds % 86400 / 3600, m = seconds % 3600 / 60, s = seconds % 60
        let parts = [(d, "d"), (h, "h"), (m, "m"), (s, "s")].filter { $0.0 > 0 }.prefix(2)
        return parts.map { "\($0.0)\($0.1)" }.joined(separator: " ")
    }
}

import FerryCore

/// Claim conditions: claim name to an exact value or a glob where `*` matches any run of
/// characters (`repository=acme/*`, `ref=refs/heads/release-*`). One type for CI trust rules
/// and for the login's claim-to-segment mapping (and the portal's), so both read claims alike.
public struct ClaimPatterns: Sendable, Equatable, Codable {
    public var patterns: [String: String]

    public init(_ patterns: [String: String]) { self.patterns = patterns }

    /// Claim names are JSON member names; patterns are printable, bounded text.
    public static func validate(_ patterns: [String: String], field: String) throws(APIError) -> ClaimPatterns {
        guard patterns.count <= 32 else { throw .invalid(field, "at most 32 claim conditions") }
        for (k, v) in patterns {
            guard !k.isEmpty, k.utf8.count <= 64, !v.isEmpty else { throw .invalid(field, "'\(k)=\(v)': a claim name and a value are needed") }
            _ = try Validate.label(v, field: field)
            _ = try Validate.label(k, field: field)
        }
        return ClaimPatterns(patterns)
    }

    /// nil when every condition holds, else the first failing claim (by name, so the
    /// answer is stable) with the token's value: what the caller may be told.
    public func firstMismatch(_ jwt: JWT) -> (claim: String, value: String?)? {
        for name in patterns.keys.sorted() {
            guard let pattern = patterns[name] else { continue }
            let values = jwt.claimTexts(name)
            guard values.contains(where: { ClaimPatterns.glob(pattern, $0) }) else { return (name, values.first) }
        }
        return nil
    }

    /// Glob with `*` only; iterative with one backtrack point, so linear-ish and never
    /// recursive on hostile input.
    public static func glob(_ pattern: String, _ text: String) -> Bool {
        let p = Array(pattern.unicodeScalars), t = Array(text.unicodeScalars)
        var pi = 0, ti = 0, star = -1, mark = 0
        while ti < t.count {
            if pi < p.count, p[pi] != "*", p[pi] == t[ti] {
                pi += 1; ti += 1
            } else if pi < p.count, p[pi] == "*" {
                star = pi; mark = ti; pi += 1
            } else if star >= 0 {
                pi = star + 1; mark += 1; ti = mark
            } else {
                return false
            }
        }
        while pi < p.count, p[pi] == "*" { pi += 1 }
        return pi == p.count
    }
}

/// The login's (and the portal's) mapping from a person's claims to a segment: the first
/// entry whose conditions all hold wins. Configured in ferryd (`--login-map`).
public struct ClaimSegmentMapping: Sendable, Equatable, Codable {
    public struct Entry: Sendable, Equatable, Codable {
        public var claims: ClaimPatterns
        public var segment: String
        public init(claims: ClaimPatterns, segment: String) { self.claims = claims; self.segment = segment }
    }
    public var entries: [Entry]
    public init(_ entries: [Entry]) { self.entries = entries }

    public func segment(for jwt: JWT) -> String? {
        entries.first { $0.claims.firstMismatch(jwt) == nil }?.segment
    }

    /// `groups=dev*:developers` style entries (`CLAIM=PATTERN[,CLAIM=PATTERN…]:SEGMENT`).
    public static func parse(_ specs: [String]) throws(APIError) -> ClaimSegmentMapping {
        var out: [Entry] = []
        for spec in specs {
            guard let colon = spec.lastIndex(of: ":") else { throw .invalid("login-map", "'\(spec)' is not CLAIM=PATTERN:SEGMENT") }
            let segment = try Validate.name(String(spec[spec.index(after: colon)...]), field: "login-map")
            var patterns: [String: String] = [:]
            for cond in spec[..<colon].split(separator: ",") {
                guard let eq = cond.firstIndex(of: "=") else { throw .invalid("login-map", "'\(cond)' is not CLAIM=PATTERN") }
                patterns[String(cond[..<eq])] = String(cond[cond.index(after: eq)...])
            }
            out.append(Entry(claims: try ClaimPatterns.validate(patterns, field: "login-map"), segment: segment))
        }
        return ClaimSegmentMapping(out)
    }
}

/// A domain name as a list of labels (RFC 1035 §3.1): each label 1–63 bytes, the whole
/// name at most 255 bytes on the wire. Labels keep the case they were given; comparisons
/// that mean "the same name" use `key`, which is ASCII-lowercased (RFC 4343).
public struct DNSName: Hashable, Sendable, CustomStringConvertible {
    public static let maxWireLength = 255
    public static let maxLabelLength = 63

    public let labels: [[UInt8]]

    /// The root name (`.`).
    public static let root = DNSName(unchecked: [])

    init(unchecked labels: [[UInt8]]) { self.labels = labels }

    /// nil when a label is empty or longer than 63 bytes, or the name is longer than 255.
    public init?(labels: [[UInt8]]) {
        guard labels.allSatisfy({ !$0.isEmpty && $0.count <= Self.maxLabelLength }) else { return nil }
        guard Self.wireLength(labels) <= Self.maxWireLength else { return nil }
        self.labels = labels
    }

    /// Parses dotted text (`git.corp.internal`, with or without the final dot). Only
    /// letters, digits, `-` and `_` are accepted in labels: these names come from people
    /// and APIs, and anything else is a mistake rather than a name.
    public init?(_ text: String) {
        if text == "." { self.init(unchecked: []); return }
        var t = Substring(text)
        if t.hasSuffix(".") { t = t.dropLast() }
        guard !t.isEmpty else { return nil }
        var labels: [[UInt8]] = []
        for part in t.split(separator: ".", omittingEmptySubsequences: false) {
            let bytes = Array(part.utf8)
            guard bytes.allSatisfy(Self.isHostnameByte) else { return nil }
            labels.append(bytes)
        }
        self.init(labels: labels)
    }

    static func isHostnameByte(_ c: UInt8) -> Bool {
        (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c == 0x2d || c == 0x5f
    }

    static func wireLength(_ labels: [[UInt8]]) -> Int { labels.reduce(1) { $0 + $1.count + 1 } }

    public var wireLength: Int { Self.wireLength(labels) }

    /// The lowercased dotted form, without the final dot: the key for lookups.
    public var key: String { Self.text(labels.map(Self.lowercased)) }

    public var description: String { labels.isEmpty ? "." : Self.text(labels) }

    static func lowercased(_ label: [UInt8]) -> [UInt8] {
        label.map { $0 >= 0x41 && $0 <= 0x5a ? $0 | 0x20 : $0 }
    }

    /// Dotted text; bytes outside printable ASCII and the separators are written as `\DDD`.
    static func text(_ labels: [[UInt8]]) -> String {
        labels.map { label in
            var s = ""
            for c in label {
                if c == 0x2e || c == 0x5c { s += "\\" + String(UnicodeScalar(c)) }
                else if c > 0x20 && c < 0x7f { s.unicodeScalars.append(UnicodeScalar(c)) }
                else { s += "\\" + String(repeating: "0", count: c < 10 ? 2 : c < 100 ? 1 : 0) + String(c) }
            }
            return s
        }.joined(separator: ".")
    }

    /// True when this name is `zone` or below it (case-insensitively).
    public func isSubdomain(of zone: DNSName) -> Bool {
        guard labels.count >= zone.labels.count else { return false }
        return zip(labels.suffix(zone.labels.count), zone.labels).allSatisfy { Self.lowercased($0) == Self.lowercased($1) }
    }

    /// The labels above `zone` (`git` for `git.z.internal` in `z.internal`); nil when not below it.
    public func relative(to zone: DNSName) -> [[UInt8]]? {
        guard isSubdomain(of: zone) else { return nil }
        return Array(labels.prefix(labels.count - zone.labels.count))
    }

    /// `labels` prepended to this name; nil when the result would be too long.
    public func prepending(_ more: [[UInt8]]) -> DNSName? { DNSName(labels: more + labels) }
}

import Foundation

/// What a policy rule opens at its target: one protocol and, for TCP and UDP, a range of
/// destination ports. A rule with no port specs opens everything (all protocols, all
/// ports), as rules did before ports existed.
///
/// Text forms (the API, the CLI and the audit log use them): `tcp/22`, `tcp/8080-8090`,
/// `udp/53`, `tcp` (every TCP port), `icmp` (ICMP echo and the rest of ICMP, or ICMPv6 for
/// IPv6 destinations).
public struct PortSpec: Sendable, Hashable, Comparable, CustomStringConvertible {
    public enum Proto: String, Sendable, CaseIterable, Comparable {
        case tcp, udp, icmp
        public static func < (a: Proto, b: Proto) -> Bool { a.rawValue < b.rawValue }
    }

    public var proto: Proto
    /// Inclusive destination port range; nil for ICMP and for "every port".
    public var ports: ClosedRange<UInt16>?

    public init(proto: Proto, ports: ClosedRange<UInt16>? = nil) {
        self.proto = proto
        self.ports = proto == .icmp ? nil : ports
    }

    public var description: String {
        guard let r = ports else { return proto.rawValue }
        return r.lowerBound == r.upperBound ? "\(proto.rawValue)/\(r.lowerBound)" : "\(proto.rawValue)/\(r.lowerBound)-\(r.upperBound)"
    }

    public static func < (a: PortSpec, b: PortSpec) -> Bool {
        if a.proto != b.proto { return a.proto < b.proto }
        switch (a.ports, b.ports) {
        case (nil, nil): return false
        case (nil, _): return true
        case (_, nil): return false
        case let (x?, y?): return (x.lowerBound, x.upperBound) < (y.lowerBound, y.upperBound)
        }
    }

    /// Why a port text was refused (the caller names the field).
    public struct ParseError: Error, Sendable, CustomStringConvertible {
        public let description: String
    }

    /// One spec: `tcp/22`, `udp/1000-2000`, `tcp`, `icmp`.
    public init(parsing text: String) throws(ParseError) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let first = parts.first, let proto = Proto(rawValue: String(first).lowercased()) else {
            throw ParseError(description: "\"\(text)\" is not a port spec: use tcp/PORT, tcp/LOW-HIGH, udp/PORT, tcp, udp or icmp")
        }
        guard parts.count == 2 else { self.init(proto: proto); return }
        guard proto != .icmp else { throw ParseError(description: "\"\(text)\": icmp takes no ports") }
        self.init(proto: proto, ports: try Self.range(String(parts[1]), in: text))
    }

    static func range(_ s: String, in text: String) throws(ParseError) -> ClosedRange<UInt16> {
        let ends = s.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        func port(_ p: Substring) throws(ParseError) -> UInt16 {
            guard !p.isEmpty, p.count <= 5, p.allSatisfy({ $0.isASCII && $0.isNumber }), let v = UInt16(p), v > 0 else {
                throw ParseError(description: "\"\(text)\": a port is a number from 1 to 65535")
            }
            return v
        }
        let low = try port(ends[0])
        let high = ends.count == 2 ? try port(ends[1]) : low
        guard low <= high else { throw ParseError(description: "\"\(text)\": the range's first port is above its last") }
        return low...high
    }

    /// A list in the CLI's short form: items separated by commas, where a bare port or range
    /// continues the protocol before it (`tcp/443,8080-8090,udp/53` is tcp/443, tcp/8080-8090
    /// and udp/53). Normalized: sorted, duplicates removed.
    public static func parseList(_ text: String) throws(ParseError) -> [PortSpec] {
        var out: [PortSpec] = []
        var current: Proto?
        for raw in text.split(separator: ",", omittingEmptySubsequences: false) {
            let item = raw.trimmingCharacters(in: .whitespaces)
            guard !item.isEmpty else { throw ParseError(description: "\"\(text)\": an empty item between commas") }
            if let first = item.first, first.isNumber {
                guard let proto = current, proto != .icmp else {
                    throw ParseError(description: "\"\(text)\": the port \(item) needs a protocol before it (tcp/\(item))")
                }
                out.append(PortSpec(proto: proto, ports: try range(item, in: text)))
            } else {
                let spec = try PortSpec(parsing: item)
                current = spec.proto
                out.append(spec)
            }
        }
        return normalize(out)
    }

    /// Sorted, without duplicates, and without ranges another spec of the same protocol covers.
    public static func normalize(_ specs: [PortSpec]) -> [PortSpec] {
        let sorted = Set(specs).sorted()
        return sorted.filter { s in !sorted.contains { $0 != s && $0.covers(s) } }
    }

    /// True when every packet `other` matches is matched by this spec too.
    public func covers(_ other: PortSpec) -> Bool {
        guard proto == other.proto else { return false }
        guard let mine = ports else { return true }
        guard let theirs = other.ports else { return false }
        return mine.lowerBound <= theirs.lowerBound && theirs.upperBound <= mine.upperBound
    }
}

/// What one side may open towards another: nothing, everything, or only some ports. Several
/// rules granting the same pair add up; a rule without ports grants everything.
public enum PortAccess: Sendable, Equatable {
    case all
    case only([PortSpec])

    /// The union of the grants of several rules; nil when no rule grants anything.
    public static func union(_ grants: [[PortSpec]]) -> PortAccess? {
        guard !grants.isEmpty else { return nil }
        if grants.contains(where: \.isEmpty) { return .all }
        return .only(PortSpec.normalize(grants.flatMap { $0 }))
    }

    /// The specs, or nil for everything.
    public var specs: [PortSpec]? {
        if case .only(let s) = self { return s }
        return nil
    }
}

import WireGuard

/// Small operations on lists of prefixes, as AllowedIPs and firewall rules need them.
public enum PrefixSet {
    /// Network form, duplicates and prefixes inside another one removed, sorted.
    public static func collapse(_ prefixes: [IPPrefix]) -> [IPPrefix] {
        let nets = Set(prefixes.map(\.network)).sorted { ($0.length, $0) < ($1.length, $1) }
        var kept: [IPPrefix] = []
        for p in nets where !kept.contains(where: { $0.contains(p) }) {
            kept.append(p)
        }
        return kept.sorted()
    }

    /// The addresses in both lists (prefixes nest or are disjoint, so each pair's
    /// intersection is the longer one or nothing).
    public static func intersect(_ a: [IPPrefix], _ b: [IPPrefix]) -> [IPPrefix] {
        var out: [IPPrefix] = []
        for x in a {
            for y in b {
                if x.contains(y) { out.append(y) } else if y.contains(x) { out.append(x) }
            }
        }
        return collapse(out)
    }

    public static func ipv4(_ prefixes: [IPPrefix]) -> [IPPrefix] { prefixes.filter { $0.address.isIPv4 } }
    public static func ipv6(_ prefixes: [IPPrefix]) -> [IPPrefix] { prefixes.filter { !$0.address.isIPv4 } }

    /// 0.0.0.0/0 and ::/0.
    public static let everything: [IPPrefix] = [IPPrefix("0.0.0.0/0"), IPPrefix("::/0")].compactMap { $0 }
}

import WireGuard

/// Renders a `FirewallPlan` as one `nft -f` script that atomically replaces the table
/// `inet ferry_IFNAME` (the first two lines make the delete succeed whether or not the
/// table exists).
public enum NFTablesRenderer {
    public static func render(_ plan: FirewallPlan) -> String {
        let table = FirewallPlan.tableName(plan.interface)
        let ifname = "\"\(plan.interface)\""
        let mark = "0x" + String(FirewallPlan.forwardMark, radix: 16)
        var out = """
        # ferry: policy of \(plan.interface); generated, do not edit
        table inet \(table) {}
        delete table inet \(table)
        table inet \(table) {
        \tchain forward {
        \t\ttype filter hook forward priority filter; policy accept;
        \t\tiifname \(ifname) jump from_peers
        \t\toifname \(ifname) jump to_peers
        \t}
        \tchain input {
        \t\ttype filter hook input priority filter; policy accept;
        \t\tiifname \(ifname) jump to_host
        \t}
        \tchain mark_from_peers {
        \t\ttype filter hook prerouting priority mangle; policy accept;
        \t\tiifname \(ifname) meta mark set meta mark | \(mark) comment "forwarded only while this table is loaded"
        \t}
        \tchain from_peers {

        """
        out += expiryLines(plan.expiries, field: "saddr")
        out += "\t\tct state established,related accept\n\t\tct state invalid drop\n"
        for rule in plan.rules {
            for line in lines(rule, ifname: ifname) { out += "\t\t\(line)\n" }
        }
        out += "\t\tcounter drop comment \"default deny\"\n\t}\n\tchain to_peers {\n"
        out += expiryLines(plan.expiries, field: "daddr")
        out += "\t\tct state established,related accept\n"
        out += "\t\tcounter drop comment \"no new connections into the overlay\"\n\t}\n\tchain to_host {\n"
        out += expiryLines(plan.expiries, field: "saddr")
        out += "\t\tct state established,related accept\n\t\tct state invalid drop\n"
        out += "\t\ticmp type echo-request accept comment \"ICMP echo (ferry doctor)\"\n"
        out += "\t\ticmpv6 type echo-request accept comment \"ICMP echo (ferry doctor)\"\n"
        for match in portMatches(plan.services, family: "ip") {
            out += "\t\t\(match) accept comment \"service for every peer\"\n"
        }
        for rule in plan.hostRules {
            for line in lines(rule, ifname: ifname, toHost: true) { out += "\t\t\(line)\n" }
        }
        out += "\t\tcounter drop comment \"default deny to the gateway host\"\n\t}\n"
        if plan.masquerade {
            out += "\tchain postrouting {\n\t\ttype nat hook postrouting priority srcnat; policy accept;\n"
            for (family, prefixes) in [("ip", PrefixSet.ipv4(plan.overlay)), ("ip6", PrefixSet.ipv6(plan.overlay))] where !prefixes.isEmpty {
                out += "\t\toifname != \(ifname) \(family) saddr \(set(prefixes)) masquerade\n"
            }
            out += "\t}\n"
        }
        out += "}\n"
        return out
    }

    static func set(_ prefixes: [IPPrefix]) -> String {
        let items = prefixes.map { $0.length == $0.address.bitWidth ? $0.address.description : $0.network.description }
        return items.count == 1 ? items[0] : "{ " + items.joined(separator: ", ") + " }"
    }

    /// Drops for expired peers, first in a chain so that even established flows end.
    static func expiryLines(_ expiries: [FirewallExpiry], field: String) -> String {
        var out = ""
        for e in expiries {
            let comment = "comment \"\(FirewallText.comment(e.comment))\""
            for (family, list) in [("ip", PrefixSet.ipv4(e.addresses)), ("ip6", PrefixSet.ipv6(e.addresses))] where !list.isEmpty {
                out += "\t\t\(family) \(field) \(set(list)) meta time >= \(e.seconds) counter drop \(comment)\n"
            }
        }
        return out
    }

    /// The protocol/port matches of a rule for one family: one per protocol, none (one
    /// empty match) when the rule opens everything.
    public static func portMatches(_ specs: [PortSpec], family: String) -> [String] {
        guard !specs.isEmpty else { return [""] }
        var out: [String] = []
        for proto in PortSpec.Proto.allCases {
            let mine = specs.filter { $0.proto == proto }
            guard !mine.isEmpty else { continue }
            switch proto {
            case .icmp:
                out.append(family == "ip" ? "meta l4proto icmp" : "meta l4proto ipv6-icmp")
            case .tcp, .udp:
                let ranges = mine.compactMap(\.ports)
                if ranges.count < mine.count {
                    out.append("meta l4proto \(proto.rawValue)")
                } else {
                    let items = ranges.map { $0.lowerBound == $0.upperBound ? "\($0.lowerBound)" : "\($0.lowerBound)-\($0.upperBound)" }
                    out.append("\(proto.rawValue) dport " + (items.count == 1 ? items[0] : "{ " + items.joined(separator: ", ") + " }"))
                }
            }
        }
        return out
    }

    /// `toHost`: a rule of the input chain, where the destination is the host itself.
    static func lines(_ rule: FirewallRule, ifname: String, toHost: Bool = false) -> [String] {
        var out: [String] = []
        let comment = "comment \"\(FirewallText.comment(rule.comment))\""
        for (family, pick) in [("ip", PrefixSet.ipv4), ("ip6", PrefixSet.ipv6)] {
            let src = pick(rule.sources)
            guard !src.isEmpty else { continue }
            var match = "\(family) saddr \(set(src))"
            if toHost {
                // any of the host's own addresses
            } else if let d = rule.destinations {
                let dst = pick(d)
                guard !dst.isEmpty else { continue }
                match += " \(family) daddr \(set(dst))"
            } else if rule.action == .accept {
                match = "oifname != \(ifname) " + match
                let ex = pick(rule.excluding)
                if !ex.isEmpty { match += " \(family) daddr != \(set(ex))" }
            }
            let ports = rule.action == .accept ? portMatches(rule.ports, family: family) : [""]
            for p in ports {
                out.append("\(match)\(p.isEmpty ? "" : " " + p) \(rule.action.rawValue) \(comment)")
            }
        }
        return out
    }
}

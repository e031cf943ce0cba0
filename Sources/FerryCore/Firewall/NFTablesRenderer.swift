import WireGuard

/// Renders a `FirewallPlan` as one `nft -f` script that atomically replaces the table
/// `inet ferry_IFNAME` (the first two lines make the delete succeed whether or not the
/// table exists).
public enum NFTablesRenderer {
    public static func render(_ plan: FirewallPlan) -> String {
        let table = FirewallPlan.tableName(plan.interface)
        let ifname = "\"\(plan.interface)\""
        var out = """
        # ferry: forwarding policy of \(plan.interface); generated, do not edit
        table inet \(table) {}
        delete table inet \(table)
        table inet \(table) {
        \tchain forward {
        \t\ttype filter hook forward priority filter; policy accept;
        \t\tiifname \(ifname) jump from_peers
        \t\toifname \(ifname) jump to_peers
        \t}
        \tchain from_peers {
        \t\tct state established,related accept
        \t\tct state invalid drop

        """
        for rule in plan.rules {
            for line in lines(rule, ifname: ifname) { out += "\t\t\(line)\n" }
        }
        out += """
        \t\tcounter drop comment "default deny"
        \t}
        \tchain to_peers {
        \t\tct state established,related accept
        \t\tcounter drop comment "no new connections into the overlay"
        \t}

        """
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

    static func lines(_ rule: FirewallRule, ifname: String) -> [String] {
        var out: [String] = []
        let comment = "comment \"\(FirewallText.comment(rule.comment))\""
        for (family, pick) in [("ip", PrefixSet.ipv4), ("ip6", PrefixSet.ipv6)] {
            let src = pick(rule.sources)
            guard !src.isEmpty else { continue }
            var match = "\(family) saddr \(set(src))"
            if let d = rule.destinations {
                let dst = pick(d)
                guard !dst.isEmpty else { continue }
                match += " \(family) daddr \(set(dst))"
            } else if rule.action == .accept {
                match = "oifname != \(ifname) " + match
                let ex = pick(rule.excluding)
                if !ex.isEmpty { match += " \(family) daddr != \(set(ex))" }
            }
            out.append("\(match) \(rule.action.rawValue) \(comment)")
        }
        return out
    }
}

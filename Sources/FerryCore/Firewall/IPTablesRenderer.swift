import WireGuard

/// Renders a `FirewallPlan` for `iptables-restore --noflush` / `ip6tables-restore --noflush`:
/// the chains FERRY-FWD-IFNAME and FERRY-NAT-IFNAME are flushed and refilled; a jump from
/// FORWARD (and POSTROUTING) is added first in the script.
public enum IPTablesRenderer {
    public enum Family: Sendable { case ipv4, ipv6 }

    public static func render(_ plan: FirewallPlan, family: Family) -> String {
        let pick = family == .ipv4 ? PrefixSet.ipv4 : PrefixSet.ipv6
        let suffix = String(plan.interface.map { $0.isLetter || $0.isNumber ? $0 : "_" })
        let fwd = "FERRY-FWD-\(suffix)", into = "FERRY-IN-\(suffix)", nat = "FERRY-NAT-\(suffix)"
        let tool = family == .ipv4 ? "iptables-restore" : "ip6tables-restore"
        let cli = family == .ipv4 ? "iptables" : "ip6tables"
        var out = "# ferry: forwarding policy of \(plan.interface) for \(tool) --noflush; generated, do not edit\n"
        // Reloading replaces the chains but inserts the jumps again: say how to remove them.
        out += "# load once per interface up; on the way down: \(cli) -D FORWARD -i \(plan.interface) -j \(fwd); "
        out += "\(cli) -D FORWARD -o \(plan.interface) -j \(into)"
        if plan.masquerade { out += "; \(cli) -t nat -D POSTROUTING -j \(nat)" }
        out += "\n"
        out += "*filter\n:\(fwd) - [0:0]\n:\(into) - [0:0]\n"
        out += "-I FORWARD 1 -i \(plan.interface) -j \(fwd)\n-I FORWARD 2 -o \(plan.interface) -j \(into)\n"
        out += "-A \(fwd) -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT\n"
        out += "-A \(fwd) -m conntrack --ctstate INVALID -j DROP\n"
        for rule in plan.rules {
            let src = pick(rule.sources)
            guard !src.isEmpty else { continue }
            let comment = "-m comment --comment \"\(FirewallText.comment(rule.comment))\""
            let target = rule.action == .accept ? "ACCEPT" : "DROP"
            for s in src {
                if let d = rule.destinations {
                    for t in pick(d) {
                        out += "-A \(fwd) -s \(s.network) -d \(t.network) \(comment) -j \(target)\n"
                    }
                } else if rule.action == .accept {
                    // Egress: internal ranges not accepted above stay closed.
                    for e in pick(rule.excluding) {
                        out += "-A \(fwd) -s \(s.network) -d \(e.network) \(comment) -j DROP\n"
                    }
                    out += "-A \(fwd) ! -o \(plan.interface) -s \(s.network) \(comment) -j ACCEPT\n"
                } else {
                    out += "-A \(fwd) -s \(s.network) \(comment) -j DROP\n"
                }
            }
        }
        out += "-A \(fwd) -m comment --comment \"default deny\" -j DROP\n"
        out += "-A \(into) -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT\n"
        out += "-A \(into) -m comment --comment \"no new connections into the overlay\" -j DROP\n"
        out += "COMMIT\n"
        if plan.masquerade {
            out += "*nat\n:\(nat) - [0:0]\n-I POSTROUTING 1 -j \(nat)\n"
            for s in pick(plan.overlay) {
                out += "-A \(nat) ! -o \(plan.interface) -s \(s.network) -j MASQUERADE\n"
            }
            out += "COMMIT\n"
        }
        return out
    }
}

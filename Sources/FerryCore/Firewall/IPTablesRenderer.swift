import Foundation
import WireGuard

/// Renders a `FirewallPlan` for `iptables-restore --noflush` / `ip6tables-restore --noflush`:
/// the chains FERRY-FWD-IFNAME (from peers), FERRY-IN-IFNAME (into the overlay),
/// FERRY-HOST-IFNAME (to the gateway host) and FERRY-NAT-IFNAME are flushed and refilled;
/// the jumps from FORWARD, INPUT (and POSTROUTING) are added first in the script.
public enum IPTablesRenderer {
    public enum Family: Sendable { case ipv4, ipv6 }

    public static func render(_ plan: FirewallPlan, family: Family) -> String {
        let pick = family == .ipv4 ? PrefixSet.ipv4 : PrefixSet.ipv6
        let suffix = String(plan.interface.map { $0.isLetter || $0.isNumber ? $0 : "_" })
        let fwd = "FERRY-FWD-\(suffix)", into = "FERRY-IN-\(suffix)", host = "FERRY-HOST-\(suffix)", nat = "FERRY-NAT-\(suffix)"
        let tool = family == .ipv4 ? "iptables-restore" : "ip6tables-restore"
        let cli = family == .ipv4 ? "iptables" : "ip6tables"
        let icmp = family == .ipv4 ? "-p icmp --icmp-type echo-request" : "-p ipv6-icmp --icmpv6-type echo-request"
        var out = "# ferry: policy of \(plan.interface) for \(tool) --noflush; generated, do not edit\n"
        // Reloading replaces the chains but inserts the jumps again: say how to remove them.
        out += "# load once per interface up; on the way down: \(cli) -D FORWARD -i \(plan.interface) -j \(fwd); "
        out += "\(cli) -D FORWARD -o \(plan.interface) -j \(into); \(cli) -D INPUT -i \(plan.interface) -j \(host)"
        if plan.masquerade { out += "; \(cli) -t nat -D POSTROUTING -j \(nat)" }
        out += "\n"
        out += "*filter\n:\(fwd) - [0:0]\n:\(into) - [0:0]\n:\(host) - [0:0]\n"
        out += "-I FORWARD 1 -i \(plan.interface) -j \(fwd)\n-I FORWARD 2 -o \(plan.interface) -j \(into)\n"
        out += "-I INPUT 1 -i \(plan.interface) -j \(host)\n"

        out += expiries(plan.expiries, chain: fwd, flag: "-s", pick: pick)
        out += "-A \(fwd) -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT\n"
        out += "-A \(fwd) -m conntrack --ctstate INVALID -j DROP\n"
        for rule in plan.rules { out += lines(rule, chain: fwd, plan: plan, family: family) }
        out += "-A \(fwd) -m comment --comment \"default deny\" -j DROP\n"

        out += expiries(plan.expiries, chain: into, flag: "-d", pick: pick)
        out += "-A \(into) -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT\n"
        out += "-A \(into) -m comment --comment \"no new connections into the overlay\" -j DROP\n"

        out += expiries(plan.expiries, chain: host, flag: "-s", pick: pick)
        out += "-A \(host) -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT\n"
        out += "-A \(host) -m conntrack --ctstate INVALID -j DROP\n"
        out += "-A \(host) \(icmp) -m comment --comment \"ICMP echo (ferry doctor)\" -j ACCEPT\n"
        for p in portMatches(plan.services, family: family) {
            out += "-A \(host) \(p) -m comment --comment \"service for every peer\" -j ACCEPT\n"
        }
        for rule in plan.hostRules { out += lines(rule, chain: host, plan: plan, family: family, toHost: true) }
        out += "-A \(host) -m comment --comment \"default deny to the gateway host\" -j DROP\n"
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

    /// `-m time --datestart` is UTC unless `--kerneltz` is given.
    static func expiries(_ list: [FirewallExpiry], chain: String, flag: String, pick: ([IPPrefix]) -> [IPPrefix]) -> String {
        var out = ""
        let format = ISO8601DateFormatter()
        format.formatOptions = [.withFullDate, .withTime, .withColonSeparatorInTime, .withDashSeparatorInDate]
        format.timeZone = TimeZone(identifier: "UTC")
        for e in list {
            let start = format.string(from: Date(timeIntervalSince1970: Double(e.seconds)))
            for a in pick(e.addresses) {
                out += "-A \(chain) \(flag) \(a.network) -m time --datestart \(start) -m comment --comment \"\(FirewallText.comment(e.comment))\" -j DROP\n"
            }
        }
        return out
    }

    /// iptables matches for the specs (one per protocol and range); one empty match for all.
    static func portMatches(_ specs: [PortSpec], family: Family) -> [String] {
        guard !specs.isEmpty else { return [""] }
        return specs.map { s in
            switch s.proto {
            case .icmp: return family == .ipv4 ? "-p icmp" : "-p ipv6-icmp"
            case .tcp, .udp:
                guard let r = s.ports else { return "-p \(s.proto.rawValue)" }
                let text = r.lowerBound == r.upperBound ? "\(r.lowerBound)" : "\(r.lowerBound):\(r.upperBound)"
                return "-p \(s.proto.rawValue) --dport \(text)"
            }
        }
    }

    static func lines(_ rule: FirewallRule, chain: String, plan: FirewallPlan, family: Family, toHost: Bool = false) -> String {
        let pick = family == .ipv4 ? PrefixSet.ipv4 : PrefixSet.ipv6
        let comment = "-m comment --comment \"\(FirewallText.comment(rule.comment))\""
        let target = rule.action == .accept ? "ACCEPT" : "DROP"
        let ports = rule.action == .accept ? portMatches(rule.ports, family: family) : [""]
        var out = ""
        func add(_ match: String) {
            for p in ports { out += "-A \(chain) \(match)\(p.isEmpty ? "" : " " + p) \(comment) -j \(target)\n" }
        }
        for s in pick(rule.sources) {
            if toHost {
                add("-s \(s.network)")
            } else if let d = rule.destinations {
                for t in pick(d) { add("-s \(s.network) -d \(t.network)") }
            } else if rule.action == .accept {
                // Egress: internal ranges not accepted above stay closed.
                for e in pick(rule.excluding) {
                    out += "-A \(chain) -s \(s.network) -d \(e.network) \(comment) -j DROP\n"
                }
                add("! -o \(plan.interface) -s \(s.network)")
            } else {
                out += "-A \(chain) -s \(s.network) \(comment) -j DROP\n"
            }
        }
        return out
    }
}

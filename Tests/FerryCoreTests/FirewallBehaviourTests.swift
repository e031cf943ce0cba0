import FerryCore
import FerryTestSupport
import Foundation
import Testing
import WireGuard

/// The rendered firewall rules applied for real in a gateway namespace, for both formats:
/// a client namespace stands in for the WireGuard interface (a veth with the interface's
/// name carries the overlay addresses), an internal namespace for the dev network. What the
/// policy allows connects; everything else does not; a re-applied, narrower plan takes effect.
@Suite("Firewall behaviour (root, network namespaces)", .serialized)
struct FirewallBehaviourTests {
    enum Format: String, CaseIterable { case nftables, iptables }

    /// developers (10.10.1.0/24) -> the whole internal /24; the CI job 10.10.2.7 -> only
    /// 172.20.0.5; 10.10.3.0/24 has no rule.
    static func plan(interface: String, developers: Bool = true) -> FirewallPlan {
        let p = { (s: String) in IPPrefix(s)! }
        var rules = [
            FirewallRule(sources: [p("10.10.2.7/32")], destinations: [p("172.20.0.5/32")], action: .accept, comment: "peer job (restricted)"),
            FirewallRule(sources: [p("10.10.2.7/32")], destinations: nil, action: .drop, comment: "peer job (restricted)"),
        ]
        if developers {
            rules.append(FirewallRule(sources: [p("10.10.1.0/24")], destinations: [p("172.20.0.0/24")], action: .accept, comment: "developers"))
        }
        return FirewallPlan(interface: interface, overlay: [p("10.10.0.0/16")], masquerade: false, rules: rules)
    }

    /// Loads the plan into the gateway namespace the way a gateway would.
    static func apply(_ plan: FirewallPlan, _ format: Format, in gw: NetworkNamespace) throws {
        switch format {
        case .nftables: try gw.exec(["nft", "-f", "-"], input: NFTablesRenderer.render(plan))
        case .iptables: try gw.exec(["iptables-restore", "--noflush"], input: IPTablesRenderer.render(plan, family: .ipv4))
        }
    }

    /// Whether a TCP connection from `source` (in `from`) to `target:port` gets the banner.
    static func connects(_ from: NetworkNamespace, source: String, to target: String, port: Int = 8080) -> Bool {
        let out = try? from.exec(["ncat", "-s", source, "-w", "1", "--recv-only", target, String(port)])
        return out?.contains("hello") == true
    }

    @Test(.enabled(if: RootEnvironment.available), arguments: Format.allCases)
    func policyIsEnforced(format: Format) throws {
        let gw = try NetworkNamespace(prefix: "fwg"), client = try NetworkNamespace(prefix: "fwc"), lan = try NetworkNamespace(prefix: "fwi")
        defer { client.close(); lan.close(); gw.close() }
        let ifname = uniqueName("fwt")

        // "the WireGuard interface": a veth named like it, the overlay behind it
        try run(["ip", "link", "add", ifname, "netns", gw.name, "type", "veth", "peer", "name", "eth0", "netns", client.name])
        try gw.exec(["ip", "addr", "add", "10.10.0.1/16", "dev", ifname])
        try gw.exec(["ip", "link", "set", ifname, "up"])
        for a in ["10.10.1.5/16", "10.10.2.7/16", "10.10.3.3/16"] { try client.exec(["ip", "addr", "add", a, "dev", "eth0"]) }
        try client.exec(["ip", "link", "set", "eth0", "up"])
        try client.exec(["ip", "route", "add", "default", "via", "10.10.0.1"])
        // the internal network (namespace `lan`): two services, 172.20.0.2 and 172.20.0.5
        let (_, internalIf) = try gw.link(to: lan, address: "172.20.0.1/24", peerAddress: "172.20.0.2/24")
        try lan.exec(["ip", "addr", "add", "172.20.0.5/24", "dev", internalIf])
        try lan.exec(["ip", "route", "add", "10.10.0.0/16", "via", "172.20.0.1"])
        try gw.exec(["sysctl", "-qw", "net.ipv4.ip_forward=1"])
        _ = try lan.spawn(["ncat", "-lk", "8080", "--sh-exec", "echo hello"])
        _ = try client.spawn(["ncat", "-lk", "9090", "--sh-exec", "echo hello"])
        #expect(waitUntil(timeout: 5) { Self.connects(client, source: "10.10.3.3", to: "172.20.0.2") },
                "without rules everything forwards (the namespaces are wired right)")

        try Self.apply(Self.plan(interface: ifname), format, in: gw)
        #expect(Self.connects(client, source: "10.10.1.5", to: "172.20.0.2"), "developer -> internal")
        #expect(Self.connects(client, source: "10.10.1.5", to: "172.20.0.5"), "developer -> internal")
        #expect(Self.connects(client, source: "10.10.2.7", to: "172.20.0.5"), "CI job -> its one host")
        #expect(!Self.connects(client, source: "10.10.2.7", to: "172.20.0.2"), "CI job -> another host: dropped")
        #expect(!Self.connects(client, source: "10.10.3.3", to: "172.20.0.2"), "a segment without a rule: default deny")
        #expect(!Self.connects(lan, source: "172.20.0.2", to: "10.10.1.5", port: 9090), "no new connections into the overlay")

        // the developers' rule revoked: re-applying replaces the rules (no restart, no flush by hand)
        try Self.apply(Self.plan(interface: ifname, developers: false), format, in: gw)
        #expect(!Self.connects(client, source: "10.10.1.5", to: "172.20.0.2"), "revoked: developer -> internal dropped")
        #expect(Self.connects(client, source: "10.10.2.7", to: "172.20.0.5"), "the CI job's rule stays")
    }
}

/// Ports and the gateway host, loaded for real in both formats, over IPv4 and IPv6: a rule
/// with ports opens exactly those ports; the host is default deny but for ICMP echo, the
/// services and its own rules.
@Suite("Firewall ports and host (root, network namespaces)", .serialized)
struct FirewallPortsBehaviourTests {
    typealias Format = FirewallBehaviourTests.Format

    static func plan(interface: String) -> FirewallPlan {
        let p = { (s: String) in IPPrefix(s)! }
        let devs = [p("10.10.1.0/24"), p("fd10::100/120")]
        let tcp = { (port: UInt16) in PortSpec(proto: .tcp, ports: port...port) }
        return FirewallPlan(
            interface: interface, overlay: [p("10.10.0.0/16"), p("fd10::/64")], masquerade: false,
            rules: [FirewallRule(sources: devs, destinations: [p("172.20.0.0/24"), p("fd20::/64")], action: .accept, comment: "developers",
                                 ports: [tcp(8080), PortSpec(proto: .icmp)])],
            hostRules: [FirewallRule(sources: devs, destinations: nil, action: .accept, comment: "developers -> gateway", ports: [tcp(2222)])],
            services: [tcp(8443)])
    }

    static func apply(_ plan: FirewallPlan, _ format: Format, in gw: NetworkNamespace) throws {
        switch format {
        case .nftables: try gw.exec(["nft", "-f", "-"], input: NFTablesRenderer.render(plan))
        case .iptables:
            try gw.exec(["iptables-restore", "--noflush"], input: IPTablesRenderer.render(plan, family: .ipv4))
            try gw.exec(["ip6tables-restore", "--noflush"], input: IPTablesRenderer.render(plan, family: .ipv6))
        }
    }

    static func connects(_ from: NetworkNamespace, source: String, to target: String, port: Int) -> Bool {
        let out = try? from.exec(["ncat", "-s", source, "-w", "1", "--recv-only", target, String(port)])
        return out?.contains("hello") == true
    }

    @Test(.enabled(if: RootEnvironment.available), arguments: Format.allCases)
    func portsAndHostAreEnforced(format: Format) throws {
        let gw = try NetworkNamespace(prefix: "fpg"), client = try NetworkNamespace(prefix: "fpc"), lan = try NetworkNamespace(prefix: "fpi")
        defer { client.close(); lan.close(); gw.close() }
        let ifname = uniqueName("fpt")
        try run(["ip", "link", "add", ifname, "netns", gw.name, "type", "veth", "peer", "name", "eth0", "netns", client.name])
        try gw.exec(["ip", "addr", "add", "10.10.0.1/16", "dev", ifname])
        try gw.exec(["ip", "-6", "addr", "add", "fd10::1/64", "dev", ifname, "nodad"])
        try gw.exec(["ip", "link", "set", ifname, "up"])
        for a in ["10.10.1.5/16", "10.10.3.3/16"] { try client.exec(["ip", "addr", "add", a, "dev", "eth0"]) }
        for a in ["fd10::105/64", "fd10::303/64"] { try client.exec(["ip", "-6", "addr", "add", a, "dev", "eth0", "nodad"]) }
        try client.exec(["ip", "link", "set", "eth0", "up"])
        try client.exec(["ip", "route", "add", "default", "via", "10.10.0.1"])
        try client.exec(["ip", "-6", "route", "add", "default", "via", "fd10::1"])
        // A WireGuard interface has no neighbour discovery; this veth stand-in gets static
        // neighbours instead, so the host's default deny does not drop ND and stall IPv6.
        let mac = { (ns: NetworkNamespace, dev: String) in
            try ns.exec(["cat", "/sys/class/net/\(dev)/address"]).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let gwMAC = try mac(gw, ifname), clientMAC = try mac(client, "eth0")
        try client.exec(["ip", "-6", "neigh", "replace", "fd10::1", "lladdr", gwMAC, "dev", "eth0", "nud", "permanent"])
        for a in ["fd10::105", "fd10::303"] {
            try gw.exec(["ip", "-6", "neigh", "replace", a, "lladdr", clientMAC, "dev", ifname, "nud", "permanent"])
        }
        let (gwIf, internalIf) = try gw.link(to: lan, address: "172.20.0.1/24", peerAddress: "172.20.0.2/24")
        try gw.exec(["ip", "-6", "addr", "add", "fd20::1/64", "dev", gwIf, "nodad"])
        try lan.exec(["ip", "-6", "addr", "add", "fd20::2/64", "dev", internalIf, "nodad"])
        try lan.exec(["ip", "route", "add", "10.10.0.0/16", "via", "172.20.0.1"])
        try lan.exec(["ip", "-6", "route", "add", "fd10::/64", "via", "fd20::1"])
        try gw.exec(["sysctl", "-qw", "net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1"])
        for port in ["8080", "9090"] { _ = try lan.spawn(["ncat", "-lk", port, "--sh-exec", "echo hello"]) }
        for port in ["2222", "2223", "8443"] { _ = try gw.spawn(["ncat", "-lk", port, "--sh-exec", "echo hello"]) }
        #expect(waitUntil(timeout: 5) { Self.connects(client, source: "10.10.3.3", to: "172.20.0.2", port: 9090) },
                "without rules everything forwards (the namespaces are wired right)")
        #expect(waitUntil(timeout: 5) { Self.connects(client, source: "fd10::303", to: "fd20::2", port: 9090) },
                "without rules everything forwards over IPv6 (neighbours resolved)")

        try Self.apply(Self.plan(interface: ifname), format, in: gw)
        for (src, dst) in [("10.10.1.5", "172.20.0.2"), ("fd10::105", "fd20::2")] {
            #expect(Self.connects(client, source: src, to: dst, port: 8080), "\(format) \(src) -> \(dst):8080 (opened)")
            #expect(!Self.connects(client, source: src, to: dst, port: 9090), "\(format) \(src) -> \(dst):9090 (no rule opens it)")
        }
        #expect(!Self.connects(client, source: "10.10.3.3", to: "172.20.0.2", port: 8080), "\(format): a segment without a rule")
        for (src, host) in [("10.10.1.5", "10.10.0.1"), ("fd10::105", "fd10::1")] {
            #expect(Self.connects(client, source: src, to: host, port: 2222), "\(format) \(src) -> gateway:2222 (host rule)")
            #expect(!Self.connects(client, source: src, to: host, port: 2223), "\(format) \(src) -> gateway:2223 (default deny)")
            #expect(Self.connects(client, source: src, to: host, port: 8443), "\(format) \(src) -> gateway:8443 (service)")
        }
        #expect(!Self.connects(client, source: "10.10.1.5", to: "172.20.0.1", port: 2223), "\(format): the host's other address")
        #expect(!Self.connects(client, source: "10.10.3.3", to: "10.10.0.1", port: 2222), "\(format): no host rule for this segment")
        #expect((try? client.exec(["ping", "-c", "1", "-W", "2", "-I", "10.10.3.3", "10.10.0.1"])) != nil, "\(format): ICMP echo to the gateway")
        #expect((try? client.exec(["ping", "-c", "1", "-W", "2", "-I", "10.10.1.5", "172.20.0.2"])) != nil, "\(format): icmp opened by the rule")
        #expect((try? client.exec(["ping", "-c", "1", "-W", "1", "-I", "10.10.3.3", "172.20.0.2"])) == nil, "\(format): icmp without a rule")
    }
}

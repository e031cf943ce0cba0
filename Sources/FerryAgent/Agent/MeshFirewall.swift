import FerryCore
import FerrySystem
import Foundation
import WireGuard

/// Direct mesh links bypass the gateway's firewall, so the agent enforces the directions
/// policy allows on its own interface: a mesh peer whose entry says `inbound: false` may
/// not open connections to this machine, one with `outbound: false` may not be connected
/// to (replies to the allowed direction pass: connection tracking). The table
/// `inet ferry_mesh_IFNAME` is replaced atomically with `nft -f`, or deleted when no
/// mesh entry is restricted.
public enum MeshFirewall {
    public static func tableName(_ interface: String) -> String {
        "ferry_mesh_" + String(interface.map { $0.isLetter || $0.isNumber ? $0 : "_" })
    }

    /// The ruleset for `map`, nil when nothing is to be enforced. Per mesh peer and
    /// direction: not allowed, new connections are dropped; allowed for some ports only,
    /// new connections to other ports are dropped.
    public static func render(interface: String, map: NetworkMap) -> String? {
        let mesh = map.enabled ? map.peers.filter { $0.role == "mesh" } : []
        var input = "", output = ""
        for entry in mesh {
            let prefixes = entry.allowedIPs.compactMap { IPPrefix($0)?.network }
            input += lines(prefixes, allowed: entry.inbound == true, ports: entry.inboundPorts, hook: "iifname \"\(interface)\"", field: "saddr")
            output += lines(prefixes, allowed: entry.outbound == true, ports: entry.outboundPorts, hook: "oifname \"\(interface)\"", field: "daddr")
        }
        guard !input.isEmpty || !output.isEmpty else { return nil }
        let table = tableName(interface)
        return """
        # ferry: directions policy allows for mesh peers on \(interface); generated, do not edit
        table inet \(table) {}
        delete table inet \(table)
        table inet \(table) {
        \tchain input {
        \t\ttype filter hook input priority filter; policy accept;
        \(input)\t}
        \tchain output {
        \t\ttype filter hook output priority filter; policy accept;
        \(output)\t}
        }

        """
    }

    /// The lines for one direction of one mesh peer; empty when it is open to everything.
    /// Unparseable port texts close the direction (fail closed).
    static func lines(_ prefixes: [IPPrefix], allowed: Bool, ports: [String]?, hook: String, field: String) -> String {
        var out = ""
        var specs: [PortSpec]?
        if allowed, let ports {
            // Unparseable: allowed for nothing (an empty list drops every new connection).
            specs = (try? ports.map { try PortSpec(parsing: $0) }).map(PortSpec.normalize) ?? []
        }
        if allowed, specs == nil { return "" }
        for (family, list) in [("ip", prefixes.filter(\.address.isIPv4)), ("ip6", prefixes.filter { !$0.address.isIPv4 })] where !list.isEmpty {
            let match = "\(hook) \(family) \(field) { \(list.map(\.description).joined(separator: ", ")) } ct state new"
            for p in (specs ?? []).isEmpty ? [] : NFTablesRenderer.portMatches(specs ?? [], family: family) {
                out += "\t\t\(match) \(p) accept\n"
            }
            out += "\t\t\(match) counter drop\n"
        }
        return out
    }

    /// Loads the ruleset for `map` (or removes the table). Returns a warning when mesh
    /// restrictions exist but nft is missing.
    public static func apply(interface: String, map: NetworkMap, runner: any CommandRunner) async -> String? {
        guard let rules = render(interface: interface, map: map) else {
            _ = try? await runner.run(["nft", "delete", "table", "inet", tableName(interface)], stdin: nil)
            return nil
        }
        do {
            try await runner.check(["nft", "-f", "-"], stdin: rules)
            return nil
        } catch {
            return "mesh directions NOT enforced locally (\(error)); install nftables"
        }
    }
}

import FerryCore
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

    /// The ruleset for `map`, nil when nothing is to be enforced.
    public static func render(interface: String, map: NetworkMap) -> String? {
        let mesh = map.enabled ? map.peers.filter { $0.role == "mesh" } : []
        let noInbound = mesh.filter { $0.inbound != true }.flatMap(\.allowedIPs).compactMap { IPPrefix($0)?.network }
        let noOutbound = mesh.filter { $0.outbound != true }.flatMap(\.allowedIPs).compactMap { IPPrefix($0)?.network }
        guard !noInbound.isEmpty || !noOutbound.isEmpty else { return nil }
        let table = tableName(interface), ifname = "\"\(interface)\""
        func drops(_ prefixes: [IPPrefix], _ direction: String, _ field: String) -> String {
            var out = ""
            for (family, list) in [("ip", prefixes.filter(\.address.isIPv4)), ("ip6", prefixes.filter { !$0.address.isIPv4 })] where !list.isEmpty {
                out += "\t\t\(direction) \(ifname) \(family) \(field) { \(list.map(\.description).joined(separator: ", ")) } ct state new counter drop\n"
            }
            return out
        }
        return """
        # ferry: directions policy allows for mesh peers on \(interface); generated, do not edit
        table inet \(table) {}
        delete table inet \(table)
        table inet \(table) {
        \tchain input {
        \t\ttype filter hook input priority filter; policy accept;
        \(drops(noInbound, "iifname", "saddr"))\t}
        \tchain output {
        \t\ttype filter hook output priority filter; policy accept;
        \(drops(noOutbound, "oifname", "daddr"))\t}
        }

        """
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

import FerryCore
import FerrySystem
import Foundation
import WireGuard

/// This machine's mesh candidates: its addresses outside the tunnel with the interface's
/// listen port (a mesh peer on the same LAN reaches it there; docs/mesh.md). Loopback,
/// link-local and the tunnel's own addresses are left out: no other machine reaches them.
enum LocalCandidates {
    static func gather(interface: String, runner: any CommandRunner) async -> [String] {
        let probes = SystemProbes(interface: interface, runner: runner)
        guard let device = try? await probes.read(), device.listenPort != 0,
              let out = try? await runner.check(["ip", "-j", "address", "show"]).stdout,
              let links = try? SystemProbes.parseLinks(out) else { return [] }
        return select(links.filter { $0.ifname != interface }.flatMap(\.prefixes).map(\.address), port: device.listenPort)
    }

    /// The usable addresses, IPv4 first, at most `Peer.maxLocalCandidates`.
    static func select(_ addresses: [IPAddress], port: UInt16) -> [String] {
        let usable = addresses.filter { a in
            let text = a.description.lowercased()
            return !(text.hasPrefix("127.") || text == "::1" || text.hasPrefix("169.254.") || text.hasPrefix("fe80:"))
        }
        let ordered = usable.filter(\.isIPv4) + usable.filter { !$0.isIPv4 }
        var out: [String] = []
        for a in ordered where out.count < Peer.maxLocalCandidates {
            let text = HostPort(Endpoint(address: a, port: port)).description
            if !out.contains(text) { out.append(text) }
        }
        return out
    }
}

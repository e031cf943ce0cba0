import FerryCore
import WireGuard

/// Allowed IPs agree on both ends. Our end: each peer's AllowedIPs on the interface equal
/// the map's (as sets of networks, the order is the table's). The other end: the gateway
/// routes to us exactly the addresses the map gives our interface (its AllowedIPs for us
/// are our /32 and /128), so the interface must carry them, or replies go nowhere.
public struct AllowedIPsCheck: DoctorCheck {
    public let name = "allowed-ips"
    let local: InterfaceSnapshot
    let coordinator: CoordinatorView

    public init(local: InterfaceSnapshot, coordinator: CoordinatorView) {
        self.local = local
        self.coordinator = coordinator
    }

    public func run() async -> DoctorResult {
        let iface = local.name
        var f = Findings()
        var compared: [String] = []
        for m in coordinator.peers {
            // A peer missing from the interface is the keys check's finding.
            guard let key = m.publicKey, let have = local.peer(key) else { continue }
            compared.append(m.entry.name)
            let want = Set(m.allowedIPs), got = Set(have.allowedIPs.map(\.network))
            // A mesh peer without AllowedIPs is relayed: its addresses go through the
            // gateway until a direct handshake (the mesh check says why; docs/mesh.md).
            guard want != got, !(m.entry.role == "mesh" && got.isEmpty) else { continue }
            let missing = want.subtracting(got).sorted(), extra = got.subtracting(want).sorted()
            var diff: [String] = []
            if !missing.isEmpty { diff.append("missing \(missing.listed)") }
            if !extra.isEmpty { diff.append("not the coordinator's \(extra.listed)") }
            f.add("\(m.label): \(iface) has AllowedIPs = \(have.allowedIPs.map(\.network).listed) (\(diff.joined(separator: "; ")))",
                  fix: "set AllowedIPs = \(m.allowedIPs.listed) on the [Peer] of \(m.entry.name): "
                      + "`wg set \(iface) peer \(key.base64) allowed-ips \(m.allowedIPs.commaSeparated)`, or run `ferry up`")
        }
        let assigned = coordinator.map.interface.addresses.compactMap { IPPrefix($0) }
        let carried = Set(local.addresses.map(\.address))
        let absent = assigned.filter { !carried.contains($0.address) }
        if !absent.isEmpty {
            f.add("the gateway routes \(assigned.map { $0.address.description }.joined(separator: ", ")) to this peer, but \(iface) has "
                    + "\(local.addresses.isEmpty ? "no address" : local.addresses.listed)",
                  fix: "set Address = \(assigned.listed) on \(iface): "
                      + absent.map { "`ip address add \($0) dev \(iface)`" }.joined(separator: " and ") + ", or run `ferry up`")
        }
        guard f.problems.isEmpty else { return fail(f.problems.joined(separator: "; "), fix: f.fixes) }
        return pass("AllowedIPs of \(compared.isEmpty ? "no peer" : compared.joined(separator: ", ")) and the addresses of \(iface) "
                    + "(\(assigned.map { $0.address.description }.joined(separator: ", "))) agree with the coordinator")
    }
}

import WireGuard

/// Routes: for every prefix the coordinator lets this peer reach through the tunnel, the
/// kernel's route for an address inside it (`ip route get`, which follows policy rules as
/// wg-quick's full tunnel sets them up) leaves through the interface. A LAN route that is
/// more specific, or a missing route, sends that traffic elsewhere however right
/// AllowedIPs are.
public struct RoutesCheck: DoctorCheck {
    public let name = "routes"
    let interface: String
    let prefixes: [IPPrefix]
    let routes: any RouteLookup

    /// `prefixes`: the map's AllowedIPs of every peer (what should be routed in).
    public init(interface: String, prefixes: [IPPrefix], routes: any RouteLookup) {
        self.interface = interface
        self.prefixes = prefixes
        self.routes = routes
    }

    public func run() async -> DoctorResult {
        guard !prefixes.isEmpty else { return skip("no prefix to route: the map gives no AllowedIPs") }
        var f = Findings()
        for prefix in prefixes {
            let probe = Self.sampleAddress(in: prefix)
            let fix = "route \(prefix) into the tunnel: `ip route replace \(prefix) dev \(interface)`, or run `ferry up`"
            do {
                let r = try await routes.route(to: probe)
                if r.device == interface { continue }
                let goes = r.device.map { d in "via \(r.via.map { "\($0) on " } ?? "")\(d)" } ?? (r.type ?? "nowhere")
                if r.device != nil {
                    f.add("\(prefix): \(probe) goes \(goes), not \(interface)",
                          fix: fix + " (if a more specific route on \(r.device ?? "?") covers it, the two networks overlap: renumber one)")
                } else {
                    f.add("\(prefix): \(probe) is \(goes)", fix: fix)
                }
            } catch {
                f.add("\(prefix): no route to \(probe) (\(error))", fix: fix)
            }
        }
        guard f.problems.isEmpty else { return fail(f.problems.joined(separator: "; "), fix: f.fixes) }
        return pass("\(prefixes.count) prefix\(prefixes.count == 1 ? "" : "es") routed through \(interface): \(prefixes.listed)")
    }

    /// An address inside `prefix` to ask the kernel about: the prefix's own address for a
    /// host prefix, else the first address after the network's. For a default route, an
    /// address outside every private range (nothing is sent to it).
    static func sampleAddress(in prefix: IPPrefix) -> IPAddress {
        let net = prefix.network.address
        switch net {
        case .v4(let a):
            if prefix.length == 0 { return .v4(IPv4Address(1, 1, 1, 1)) }
            return prefix.length >= 31 ? net : .v4(IPv4Address(a.value | 1))
        case .v6(let a):
            if prefix.length == 0 { return IPAddress("2606:4700:4700::1111") ?? net }
            return prefix.length >= 127 ? net : .v6(IPv6Address(high: a.high, low: a.low | 1))
        }
    }
}

import WireGuard

extension Peer {
    /// The most candidates a peer may report (its local addresses): enough for a
    /// multi-homed machine, small enough that a map stays small.
    public static let maxLocalCandidates = 8

    /// Where a mesh peer may be reached, best first, without repeats (docs/mesh.md):
    /// 1. the endpoint the gateway observed (its NAT's mapping towards the gateway; the
    ///    one that works behind an endpoint-independent NAT, and for a public machine);
    /// 2. the observed address with the interface's own port: a NAT that preserves ports
    ///    (Linux MASQUERADE) maps there for new destinations even when the mapping towards
    ///    the gateway was given another port (made while the NAT randomised ports);
    /// 3. the endpoint it reported itself; 4. its local addresses (same LAN).
    public var meshCandidates: [HostPort] {
        var out: [HostPort] = []
        func add(_ h: HostPort?) { if let h, !out.contains(h) { out.append(h) } }
        add(seenEndpoint)
        if let seen = seenEndpoint?.address, let port = localCandidates.first?.port {
            add(HostPort(Endpoint(address: seen, port: port)))
        }
        add(reportedEndpoint)
        for c in localCandidates { add(c) }
        return out
    }
}

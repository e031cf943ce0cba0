import FerryCore
import FerryDNS
import WireGuard

/// The zone as the DNS server looks names up: peers by their names (`PEER` and
/// `PEER.SEGMENT`, relative to the zone) and by their overlay addresses, and the admin's
/// records by name. Built once per store revision; whether a peer is active and whether
/// the asking peer may see it are decided per query (ZoneResolver).
struct ZoneIndex: Sendable {
    let compiler: PolicyCompiler
    let zone: DNSName
    let upstreams: [HostPort]
    let peersByName: [String: [Peer]]
    let peersByAddress: [IPAddress: Peer]
    let records: [String: [ZoneRecord]]
    /// Names that exist only because a record lies below them (`_tcp` for `_ssh._tcp`):
    /// they answer NODATA, not NXDOMAIN (RFC 8020).
    let emptyNonTerminals: Set<String>

    init(compiler: PolicyCompiler, records: [ZoneRecord]) {
        self.compiler = compiler
        let network = compiler.topology.network
        zone = network.zone
        upstreams = network.dnsUpstreams
        let segments = Dictionary(compiler.topology.segments.map { ($0.id, $0.name) }, uniquingKeysWith: { a, _ in a })
        var byName: [String: [Peer]] = [:]
        var byAddress: [IPAddress: Peer] = [:]
        for p in compiler.topology.peers {
            let name = p.name.lowercased()
            byName[name, default: []].append(p)
            if let s = segments[p.segmentID] { byName["\(name).\(s.lowercased())", default: []].append(p) }
            byAddress[.v4(p.ipv4)] = p
            if let v6 = network.plan.ipv6(for: p.ipv4) { byAddress[.v6(v6)] = p }
        }
        peersByName = byName
        peersByAddress = byAddress
        self.records = Dictionary(grouping: records, by: { $0.name.key })
        var ents = Set<String>()
        for r in records {
            for i in 1..<max(r.name.labels.count, 1) {
                if let above = DNSName(labels: Array(r.name.labels[i...])) { ents.insert(above.key) }
            }
        }
        emptyNonTerminals = ents
    }

    /// The peer an overlay address belongs to, if it is on the network now.
    func peer(at address: IPAddress, now: Millis) -> Peer? {
        guard let p = peersByAddress[address], p.enabled, !compiler.isExpired(p, at: now) else { return nil }
        return p
    }

    /// Whether `client` may learn `peer`'s name: itself, gateways (every peer reaches its
    /// gateways, and a gateway sees every peer), and the peers policy lets it open
    /// connections to. A peer that may only be reached *from* a segment stays unnamed to it.
    func visible(_ peer: Peer, to client: Peer, now: Millis) -> Bool {
        guard peer.enabled, !compiler.isExpired(peer, at: now) else { return false }
        return peer.id == client.id || peer.kind == .gateway || client.kind == .gateway || compiler.allows(client, to: peer)
    }

    /// The name peers are known by in answers to PTR queries: `PEER.SEGMENT.ZONE`.
    func canonicalName(_ p: Peer) -> DNSName? {
        guard let seg = compiler.topology.segments.first(where: { $0.id == p.segmentID }),
              let rel = DNSName("\(p.name).\(seg.name)".lowercased()) else { return nil }
        return zone.prepending(rel.labels)
    }

    /// Whether an address lies inside the network's own prefixes (its reverse names are ours).
    func isOverlay(_ a: IPAddress) -> Bool {
        let plan = compiler.topology.network.plan
        return ([plan.ipv4] + (plan.ipv6.map { [$0] } ?? [])).contains { $0.contains(a) }
    }
}

/// Reverse names (RFC 1035 §3.5, RFC 3596 §2.5) to addresses.
enum ReverseName {
    static let v4 = DNSName("in-addr.arpa") ?? .root
    static let v6 = DNSName("ip6.arpa") ?? .root

    static func address(_ name: DNSName) -> IPAddress? {
        if let rel = name.relative(to: v4), rel.count == 4 {
            var value: UInt32 = 0
            for label in rel.reversed() {
                guard label.count <= 3, label.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
                      let octet = UInt8(String(decoding: label, as: UTF8.self)) else { return nil }
                value = value << 8 | UInt32(octet)
            }
            return .v4(IPv4Address(value))
        }
        if let rel = name.relative(to: v6), rel.count == 32 {
            var high: UInt64 = 0, low: UInt64 = 0
            for (i, label) in rel.reversed().enumerated() {
                guard label.count == 1, let nibble = UInt8(String(decoding: label, as: UTF8.self), radix: 16) else { return nil }
                if i < 16 { high = high << 4 | UInt64(nibble) } else { low = low << 4 | UInt64(nibble) }
            }
            return .v6(IPv6Address(high: high, low: low))
        }
        return nil
    }
}

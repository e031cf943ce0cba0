import FerryCore
import FerryDNS
import WireGuard

/// What the server does with one question.
enum ZoneResult: Equatable {
    case answer(rcode: DNSRCode, answers: [DNSRecord], authority: [DNSRecord])
    /// Outside the zone and the overlay's reverse names, with upstreams configured.
    case forward
    case refused
}

/// Answers questions about the zone for one asking peer (identified by the overlay
/// address the query came from). Pure: no I/O, the time is an argument.
extension ZoneIndex {
    static let peerTTL: UInt32 = 10
    /// SOA minimum: how long resolvers cache "no such name" (RFC 2308), kept short so a
    /// new peer's name works within seconds.
    static let negativeTTL: UInt32 = 5
    static let maxCNAMEChain = 8

    var soa: DNSRecord {
        let host = zone.prepending([Array("hostmaster".utf8)]) ?? zone
        // A fixed serial: every replica answers alike and there is no zone transfer.
        return DNSRecord(name: zone, ttl: Self.negativeTTL,
                         data: .soa(mname: zone, rname: host, serial: 1, refresh: 3600, retry: 600, expire: 86400, minimum: Self.negativeTTL))
    }

    func resolve(_ q: DNSQuestion, client address: IPAddress, now: Millis) -> ZoneResult {
        guard let client = peer(at: address, now: now) else { return .refused }
        guard q.qclass == DNSClass.internet || q.qclass == DNSType.any else { return .refused }
        if let rel = q.name.relative(to: zone) {
            return lookup(DNSName(labels: rel) ?? .root, type: q.type, owner: q.name, client: client, now: now, depth: 0)
        }
        if let a = ReverseName.address(q.name), isOverlay(a) {
            guard let p = peer(at: a, now: now), visible(p, to: client, now: now), let target = canonicalName(p) else {
                return .answer(rcode: .nxDomain, answers: [], authority: [])
            }
            let ptr = DNSRecord(name: q.name, ttl: Self.peerTTL, data: .ptr(target))
            return .answer(rcode: .noError, answers: q.type == DNSType.ptr || q.type == DNSType.any ? [ptr] : [], authority: [])
        }
        return upstreams.isEmpty ? .refused : .forward
    }

    private func lookup(_ rel: DNSName, type: UInt16, owner: DNSName, client: Peer, now: Millis, depth: Int) -> ZoneResult {
        let key = rel.key
        let nodata = ZoneResult.answer(rcode: .noError, answers: [], authority: [soa])
        if rel.labels.isEmpty {
            if type == DNSType.soa || type == DNSType.any { return .answer(rcode: .noError, answers: [soa], authority: []) }
            return nodata
        }
        let peers = (peersByName[key] ?? []).filter { visible($0, to: client, now: now) }
        if !peers.isEmpty {
            let plan = compiler.topology.network.plan
            var out: [DNSRecord] = []
            for p in peers {
                if type == DNSType.a || type == DNSType.any { out.append(DNSRecord(name: owner, ttl: Self.peerTTL, data: .a(p.ipv4.value))) }
                if type == DNSType.aaaa || type == DNSType.any, let v6 = plan.ipv6(for: p.ipv4) {
                    out.append(DNSRecord(name: owner, ttl: Self.peerTTL, data: .aaaa(high: v6.high, low: v6.low)))
                }
            }
            return out.isEmpty ? nodata : .answer(rcode: .noError, answers: out, authority: [])
        }
        let recs = records[key] ?? []
        if let cname = recs.first(where: { $0.type == .CNAME }), case .target(let target) = cname.value, type != DNSType.cname {
            let first = DNSRecord(name: owner, ttl: UInt32(clamping: cname.ttl), data: .cname(target))
            // Follow the chain inside the zone; a target outside it is the client's to resolve.
            guard depth < Self.maxCNAMEChain, let next = target.relative(to: zone) else {
                return .answer(rcode: .noError, answers: [first], authority: [])
            }
            switch lookup(DNSName(labels: next) ?? .root, type: type, owner: target, client: client, now: now, depth: depth + 1) {
            case .answer(let rcode, let answers, let authority): return .answer(rcode: rcode, answers: [first] + answers, authority: authority)
            default: return .answer(rcode: .noError, answers: [first], authority: [])
            }
        }
        if !recs.isEmpty {
            let out = recs.compactMap { r -> DNSRecord? in
                let ttl = UInt32(clamping: r.ttl)
                switch r.value {
                case .address(.v4(let a)) where type == DNSType.a || type == DNSType.any:
                    return DNSRecord(name: owner, ttl: ttl, data: .a(a.value))
                case .address(.v6(let a)) where type == DNSType.aaaa || type == DNSType.any:
                    return DNSRecord(name: owner, ttl: ttl, data: .aaaa(high: a.high, low: a.low))
                case .target(let t) where type == DNSType.cname:
                    return DNSRecord(name: owner, ttl: ttl, data: .cname(t))
                case .service(let p, let w, let port, let t) where type == DNSType.srv || type == DNSType.any:
                    return DNSRecord(name: owner, ttl: ttl, data: .srv(priority: p, weight: w, port: port, target: t))
                default: return nil
                }
            }
            return out.isEmpty ? nodata : .answer(rcode: .noError, answers: out, authority: [])
        }
        if emptyNonTerminals.contains(key) { return nodata }
        return .answer(rcode: .nxDomain, answers: [], authority: [soa])
    }
}

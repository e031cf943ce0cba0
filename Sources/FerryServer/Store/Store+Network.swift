import FerryCore
import Foundation
import WireGuard

extension FerryStore {
    /// The embedded defaults of a first start: network `ferry` on 10.10.0.0/16 with a
    /// random IPv6 ULA /48 (RFC 4193), and a `gateways` segment 10.10.0.0/24; plus an admin
    /// token whose secret is returned (printed once by ferryd). nil when already set up.
    public func bootstrap(ipv4: IPPrefix? = nil, ipv6: IPPrefix? = nil) async throws -> String? {
        let secret = TokenSecret.generate()
        var rng = SystemRandomNumberGenerator()
        let ula = ipv6 ?? IPPrefix(.v6(IPv6Address(high: 0xfd00_0000_0000_0000 | (rng.next() & 0x00ff_ffff_ffff) << 16, low: 0)), 48)
        let v4 = ipv4 ?? IPPrefix("10.10.0.0/16")
        return try await write(.system("bootstrap")) { db, audit, now in
            guard try db.networkIfSet() == nil else { return nil }
            guard let v4 else { return nil }
            let network = NetworkSettings(name: "ferry", ipv4: v4, ipv6: ula)
            try db.insertNetwork(network, now: now)
            audit.append(AuditEntry(action: "network.create", objectType: "network", objectID: "network",
                                    after: FerryStore.json(Views.network(network))))
            if let seg = SegmentCarver.firstFree(in: v4, length: 24, existing: []) {
                let id = IDs.make("seg")
                try db.insertSegment(Segment(id: id, name: FerryStore.gatewaySegment, ipv4: seg), now: now)
                audit.append(AuditEntry(action: "segment.create", objectType: "segment", objectID: id,
                                        after: FerryStore.json(Views.segment(Segment(id: id, name: FerryStore.gatewaySegment, ipv4: seg), plan: network.plan, peers: 0))))
            }
            let token = try FerryStore.insertToken(db, name: "bootstrap-admin", scope: .admin, secret: secret, now: now, createdBy: "system:bootstrap")
            audit.append(AuditEntry(action: "token.create", objectType: "token", objectID: token.id, after: FerryStore.json(token)))
            return secret
        }
    }

    public func network() async throws -> NetworkView {
        try await read { Views.network(try $0.network()) }
    }

    public func updateNetwork(_ req: UpdateNetworkRequest, caller: Caller) async throws -> NetworkView {
        let name = try req.name.map { n throws(APIError) in try Validate.name(n) }
        let ipv4 = try req.ipv4.map { s throws(APIError) in try Validate.prefix(s, field: "ipv4", family: 4) }
        let ipv6 = try req.ipv6.map { s throws(APIError) in try Validate.prefix(s, field: "ipv6", family: 6) }
        let dns = try req.dns.map { d throws(APIError) in try Validate.addresses(d, field: "dns") }
        let mtu = try req.mtu.map { m throws(APIError) in try Validate.mtu(m) }
        let keepalive = try req.keepalive.map { k throws(APIError) in try Validate.keepalive(k) }
        let zone = try req.dnsZone.map { z throws(APIError) in try Validate.zone(z) }
        let upstreams = try req.dnsUpstreams.map { u throws(APIError) in try Validate.upstreams(u) }
        return try await write(caller) { db, audit, now in
            let before = try db.network()
            var n = before
            if let name { n.name = name }
            if let dns { n.dns = dns }
            if let mtu { n.mtu = mtu }
            if let keepalive { n.keepalive = keepalive }
            if let zone { n.dnsZone = zone.isEmpty ? nil : zone }
            if let upstreams { n.dnsUpstreams = upstreams }
            if ipv4 != nil || ipv6 != nil {
                if let ipv4 { n.ipv4 = ipv4 }
                if let ipv6 { n.ipv6 = ipv6 }
                if let bad = AddressPlan.validate(ipv4: n.ipv4, ipv6: n.ipv6) { throw APIError.invalid(bad.field, bad.message) }
                if try db.peerCount() > 0 {
                    throw APIError.conflict(ipv4 != nil ? "ipv4" : "ipv6", "cannot renumber a network that has peers")
                }
                for s in try db.segments() where !n.ipv4.contains(s.ipv4) {
                    throw APIError.conflict("ipv4", "segment \(s.name) (\(s.ipv4)) would fall outside \(n.ipv4)")
                }
            }
            guard n != before else { return Views.network(n) }
            try db.updateNetwork(n, now: now)
            audit.append(AuditEntry(action: "network.update", objectType: "network", objectID: "network",
                                    before: FerryStore.json(Views.network(before)), after: FerryStore.json(Views.network(n))))
            return Views.network(n)
        }
    }

    // MARK: Segments

    public func segments() async throws -> [SegmentView] {
        try await read { db in
            let plan = try db.network().plan
            let counts = try db.peerCountsBySegment()
            return try db.segments().map { Views.segment($0, plan: plan, peers: counts[$0.id] ?? 0) }
        }
    }

    public func segment(named name: String) async throws -> SegmentView {
        guard let s = try await segments().first(where: { $0.name == name }) else { throw APIError.notFound("segment \(name)") }
        return s
    }

    public func createSegment(_ req: CreateSegmentRequest, caller: Caller) async throws -> SegmentView {
        let name = try Validate.name(req.name)
        let explicit = try req.ipv4.map { s throws(APIError) in try Validate.prefix(s, field: "ipv4", family: 4) }
        let length = req.prefixLength ?? 24
        guard (8...30).contains(length) else { throw APIError.invalid("prefixLength", "must be between 8 and 30") }
        if req.ipv4 != nil, req.prefixLength != nil { throw APIError.invalid("prefixLength", "give either ipv4 or prefixLength") }
        return try await write(caller) { db, audit, now in
            let network = try db.network()
            let existing = try db.segments()
            if existing.contains(where: { $0.name == name }) { throw APIError.conflict("name", "a segment named \(name) exists") }
            let prefix: IPPrefix
            if let explicit {
                guard network.ipv4.contains(explicit) else { throw APIError.invalid("ipv4", "\(explicit) is outside the network \(network.ipv4)") }
                if let other = existing.first(where: { $0.ipv4.overlaps(explicit) }) {
                    throw APIError.conflict("ipv4", "\(explicit) overlaps segment \(other.name) (\(other.ipv4))")
                }
                prefix = explicit
            } else {
                guard length >= network.ipv4.length,
                      let p = SegmentCarver.firstFree(in: network.ipv4, length: length, existing: existing.map(\.ipv4)) else {
                    throw APIError.exhausted("prefixLength", "no free /\(length) left in \(network.ipv4)")
                }
                prefix = p
            }
            let s = Segment(id: IDs.make("seg"), name: name, ipv4: prefix)
            try db.insertSegment(s, now: now)
            let view = Views.segment(s, plan: network.plan, peers: 0)
            audit.append(AuditEntry(action: "segment.create", objectType: "segment", objectID: s.id, after: FerryStore.json(view)))
            return view
        }
    }

    public func deleteSegment(named name: String, caller: Caller) async throws {
        try await write(caller) { db, audit, _ in
            guard let s = try db.segment(named: name) else { throw APIError.notFound("segment \(name)") }
            // Gateways created without a segment go here (POST /v1/gateways).
            if name == FerryStore.gatewaySegment {
                throw APIError.conflict("name", "the segment \(name) is where gateways go by default; it cannot be deleted")
            }
            let plan = try db.network().plan
            if let what = try db.segmentDependents(id: s.id).first {
                throw APIError.conflict("name", "segment \(name) still has \(what)")
            }
            try db.deleteSegment(id: s.id)
            audit.append(AuditEntry(action: "segment.delete", objectType: "segment", objectID: s.id,
                                    before: FerryStore.json(Views.segment(s, plan: plan, peers: 0))))
        }
    }

    // MARK: Policy

    public func rules() async throws -> [PolicyRuleView] {
        try await read { db in
            let segs = Dictionary(uniqueKeysWithValues: try db.segments().map { ($0.id, $0) })
            let gws = try db.gatewayNames()
            return try db.rules().map { Views.rule($0, segments: segs, gateways: gws) }
        }
    }

    public func createRule(_ req: CreatePolicyRuleRequest, caller: Caller) async throws -> PolicyRuleView {
        let from = try Validate.name(req.from, field: "from")
        let targets = [req.toSegment, req.toSubnet, req.toGateway].compactMap { $0 }
        guard !targets.isEmpty else { throw APIError.missing("toSegment") }
        guard targets.count == 1 else { throw APIError.invalid(req.toGateway != nil ? "toGateway" : "toSubnet", "give exactly one of toSegment, toSubnet and toGateway") }
        let subnet = try req.toSubnet.map { s throws(APIError) in try Validate.prefix(s, field: "toSubnet") }
        var parsed: [PortSpec] = []
        for (i, text) in (req.ports ?? []).enumerated() {
            do { parsed.append(try PortSpec(parsing: text)) } catch { throw APIError.invalid("ports[\(i)]", error.description) }
        }
        let ports = PortSpec.normalize(parsed)
        return try await write(caller) { db, audit, now in
            guard let src = try db.segment(named: from) else { throw APIError.invalid("from", "no segment named \(from)") }
            let target: PolicyTarget
            if let name = req.toSegment {
                guard let dst = try db.segment(named: name) else { throw APIError.invalid("toSegment", "no segment named \(name)") }
                target = .segment(dst.id)
            } else if let subnet {
                // A rule to the overlay itself would open every segment at once: segments
                // are reached with toSegment rules.
                let network = try db.network()
                if network.plan.prefixes(network.ipv4).contains(where: { $0.overlaps(subnet) }) {
                    throw APIError.invalid("toSubnet", "\(subnet) overlaps the network's own prefix; use toSegment for peers")
                }
                let routed = try db.peers(.gateways).compactMap(\.gateway).flatMap(\.subnets)
                guard routed.contains(where: { $0.overlaps(subnet) }) else {
                    throw APIError.invalid("toSubnet", "no gateway routes \(subnet); add it to a gateway's subnets first")
                }
                target = .subnet(subnet)
            } else if let name = req.toGateway {
                guard let id = try db.gatewayNames().first(where: { $0.value == name })?.key else {
                    throw APIError.invalid("toGateway", "no gateway named \(name)")
                }
                target = .gateway(id)
            } else { throw APIError.missing("toSegment") }
            let rule = PolicyRule(id: IDs.make("rule"), from: src.id, to: target, ports: ports)
            if try db.rules().contains(where: { $0.from == rule.from && $0.to == rule.to && $0.ports == rule.ports }) {
                throw APIError.conflict(req.toSegment != nil ? "toSegment" : req.toSubnet != nil ? "toSubnet" : "toGateway", "the same rule exists")
            }
            try db.insertRule(rule, now: now)
            let segs = Dictionary(uniqueKeysWithValues: try db.segments().map { ($0.id, $0) })
            let view = Views.rule(rule, segments: segs, gateways: try db.gatewayNames())
            audit.append(AuditEntry(action: "policy.create", objectType: "policy_rule", objectID: rule.id, after: FerryStore.json(view)))
            return view
        }
    }

    public func deleteRule(id: String, caller: Caller) async throws {
        try await write(caller) { db, audit, _ in
            guard let rule = try db.rules().first(where: { $0.id == id }) else { throw APIError.notFound("policy rule \(id)") }
            let segs = Dictionary(uniqueKeysWithValues: try db.segments().map { ($0.id, $0) })
            let gws = try db.gatewayNames()
            try db.deleteRule(id: id)
            audit.append(AuditEntry(action: "policy.delete", objectType: "policy_rule", objectID: id,
                                    before: FerryStore.json(Views.rule(rule, segments: segs, gateways: gws))))
        }
    }
}

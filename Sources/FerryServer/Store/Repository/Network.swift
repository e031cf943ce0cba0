import FerryCore
import Foundation
import WireGuard

/// The network's settings, its segments and the policy rules between them.
protocol NetworkRepository: AnyObject {
    /// nil before bootstrap.
    func networkIfSet() throws -> NetworkSettings?
    func insertNetwork(_ n: NetworkSettings, now: Millis) throws
    func updateNetwork(_ n: NetworkSettings, now: Millis) throws

    /// Ordered by prefix.
    func segments() throws -> [Segment]
    func segment(named name: String) throws -> Segment?
    func insertSegment(_ s: Segment, now: Millis) throws
    func deleteSegment(id: String) throws
    /// What still refers to a segment, in a fixed order ("peers", "tokens", "policy rules",
    /// "CI trust rules"): the kinds with at least one row.
    func segmentDependents(id: String) throws -> [String]

    /// Ordered by creation.
    func rules() throws -> [PolicyRule]
    func insertRule(_ rule: PolicyRule, now: Millis) throws
    func deleteRule(id: String) throws
}

extension NetworkRepository {
    func network() throws -> NetworkSettings {
        guard let n = try networkIfSet() else { throw StoreError.corrupt("no network row") }
        return n
    }
}

extension SQLRepository: NetworkRepository {
    func networkIfSet() throws -> NetworkSettings? {
        guard let row = try SQLRow.fetchOne(db, sql: "SELECT * FROM network WHERE id = 1") else { return nil }
        let ipv6: String? = row["ipv6"]
        let dns = try Self.strings(row["dns"]) ?? []
        let upstreams = try Self.strings(row["dns_upstreams"]) ?? []
        return NetworkSettings(name: row["name"], ipv4: try Self.prefix(row["ipv4"]), ipv6: try ipv6.map(Self.prefix),
                               dns: dns.compactMap { IPAddress($0) }, mtu: row["mtu"], keepalive: row["keepalive"],
                               dnsZone: row["dns_zone"], dnsUpstreams: upstreams.compactMap { HostPort($0) })
    }

    func insertNetwork(_ n: NetworkSettings, now: Millis) throws {
        try db.execute(sql: """
            INSERT INTO network (id, name, ipv4, ipv6, dns, mtu, keepalive, created_at, updated_at)
            VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?)
            """, arguments: [n.name, n.ipv4.description, n.ipv6?.description, Self.json(n.dns.map(\.description)), n.mtu, n.keepalive,
                             now, now])
    }

    func updateNetwork(_ n: NetworkSettings, now: Millis) throws {
        try db.execute(sql: """
            UPDATE network SET name = ?, ipv4 = ?, ipv6 = ?, dns = ?, mtu = ?, keepalive = ?, updated_at = ?, dns_zone = ?, dns_upstreams = ?
            WHERE id = 1
            """, arguments: [n.name, n.ipv4.description, n.ipv6?.description, Self.json(n.dns.map(\.description)), n.mtu, n.keepalive,
                             now, n.dnsZone, Self.json(n.dnsUpstreams.map(\.description))])
    }

    func segments() throws -> [Segment] {
        try SQLRow.fetchAll(db, sql: "SELECT id, name, ipv4 FROM segments ORDER BY ipv4").map(Self.segment)
    }

    func segment(named name: String) throws -> Segment? {
        try SQLRow.fetchOne(db, sql: "SELECT id, name, ipv4 FROM segments WHERE name = ?", arguments: [name]).map(Self.segment)
    }

    static func segment(_ row: SQLRow) throws -> Segment {
        Segment(id: row["id"], name: row["name"], ipv4: try prefix(row["ipv4"]))
    }

    func insertSegment(_ s: Segment, now: Millis) throws {
        try db.execute(sql: "INSERT INTO segments (id, name, ipv4, created_at) VALUES (?, ?, ?, ?)",
                       arguments: [s.id, s.name, s.ipv4.description, now])
    }

    func deleteSegment(id: String) throws {
        try db.execute(sql: "DELETE FROM segments WHERE id = ?", arguments: [id])
    }

    func segmentDependents(id: String) throws -> [String] {
        var out: [String] = []
        for (table, column, what) in [("peers", "segment_id", "peers"), ("tokens", "segment_id", "tokens"),
                                      ("policy_rules", "from_segment", "policy rules"), ("policy_rules", "to_segment", "policy rules"),
                                      ("oidc_trust_rules", "segment_id", "CI trust rules")] where !out.contains(what) {
            if try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \(table) WHERE \(column) = ?", arguments: [id]) ?? 0 > 0 {
                out.append(what)
            }
        }
        return out
    }

    func rules() throws -> [PolicyRule] {
        try SQLRow.fetchAll(db, sql: "SELECT * FROM policy_rules ORDER BY created_at, id").map { row in
            let toSegment: String? = row["to_segment"]
            let toSubnet: String? = row["to_subnet"]
            let toGateway: String? = row["to_gateway"]
            let target: PolicyTarget
            if let toSegment { target = .segment(toSegment) } else if let toSubnet { target = .subnet(try Self.prefix(toSubnet)) }
            else if let toGateway { target = .gateway(toGateway) } else {
                throw StoreError.corrupt("rule without target")
            }
            let portsText: String = row["ports"]
            guard let ports = try? portsText.split(separator: " ").map({ try PortSpec(parsing: String($0)) }) else {
                throw StoreError.corrupt("rule ports \(portsText)")
            }
            return PolicyRule(id: row["id"], from: row["from_segment"], to: target, ports: ports)
        }
    }

    func insertRule(_ rule: PolicyRule, now: Millis) throws {
        var toSegment: String?, toSubnet: String?, toGateway: String?
        switch rule.to {
        case .segment(let id): toSegment = id
        case .subnet(let p): toSubnet = p.description
        case .gateway(let id): toGateway = id
        }
        try db.execute(sql: """
            INSERT INTO policy_rules (id, from_segment, to_segment, to_subnet, to_gateway, ports, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)
            """, arguments: [rule.id, rule.from, toSegment, toSubnet, toGateway, rule.ports.map(\.description).joined(separator: " "), now])
    }

    func deleteRule(id: String) throws {
        try db.execute(sql: "DELETE FROM policy_rules WHERE id = ?", arguments: [id])
    }
}

import FerryCore
import FerryDNS
import Foundation
import WireGuard

/// The zone's admin-managed records (A, AAAA, CNAME, SRV), changed like everything else:
/// validated first, audited in the same transaction, and seen by every replica's DNS
/// server through the store.
extension FerryStore {
    static func loadRecords(_ db: any SQLTransaction) throws -> [ZoneRecord] {
        try SQLRow.fetchAll(db, sql: "SELECT * FROM dns_records ORDER BY name, type, created_at, id").map { row in
            let id: String = row["id"]
            guard let type = ZoneRecordType(rawValue: row["type"]), let name = DNSName(row["name"] as String),
                  let value = ZoneRecordValue.parse(row["value"], type: type) else { throw StoreError.corrupt("dns record \(id)") }
            return ZoneRecord(id: id, name: name, type: type, value: value, ttl: row["ttl"])
        }
    }

    static func recordView(_ r: ZoneRecord, zone: DNSName) -> DNSRecordView {
        DNSRecordView(id: r.id, name: r.name.key, fqdn: zone.prepending(r.name.labels)?.key ?? r.name.key,
                      type: r.type.rawValue, value: r.value.text, ttl: r.ttl)
    }

    public func dnsRecords() async throws -> [DNSRecordView] {
        try await read { db in
            let zone = try FerryStore.loadNetwork(db).zone
            return try FerryStore.loadRecords(db).map { FerryStore.recordView($0, zone: zone) }
        }
    }

    public func createDNSRecord(_ req: CreateDNSRecordRequest, caller: Caller) async throws -> DNSRecordView {
        let name = try Validate.recordName(req.name)
        let type = try Validate.enumValue(req.type, ZoneRecordType.self, field: "type")
        guard let value = ZoneRecordValue.parse(req.value, type: type) else {
            throw APIError.invalid("value", type == .SRV ? "an SRV value is 'PRIORITY WEIGHT PORT TARGET'"
                                                         : "'\(req.value)' is not a valid \(type.rawValue) value")
        }
        let ttl = try Validate.recordTTL(req.ttl ?? 60)
        return try await write(caller) { db, audit, now in
            let zone = try FerryStore.loadNetwork(db).zone
            let existing = try FerryStore.loadRecords(db).filter { $0.name == name }
            if existing.contains(where: { $0.type == type && $0.value == value }) { throw APIError.conflict("value", "the same record exists") }
            // RFC 1034 §3.6.2: a CNAME is alone at its name.
            if type == .CNAME, !existing.isEmpty { throw APIError.conflict("name", "\(name.key) has records; a CNAME must be alone") }
            if existing.contains(where: { $0.type == .CNAME }) { throw APIError.conflict("name", "\(name.key) is a CNAME") }
            if try ZoneIndex.peerNames(db).contains(name.key) {
                throw APIError.conflict("name", "\(name.key) is a peer's name in the zone")
            }
            let r = ZoneRecord(id: IDs.make("dns"), name: name, type: type, value: value, ttl: ttl)
            try db.execute(sql: "INSERT INTO dns_records (id, name, type, value, ttl, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                           arguments: [r.id, name.key, type.rawValue, value.text, ttl, now])
            let view = FerryStore.recordView(r, zone: zone)
            audit.append(AuditEntry(action: "dns.create", objectType: "dns_record", objectID: r.id, after: FerryStore.json(view)))
            return view
        }
    }

    public func deleteDNSRecord(id: String, caller: Caller) async throws {
        try await write(caller) { db, audit, _ in
            let zone = try FerryStore.loadNetwork(db).zone
            guard let r = try FerryStore.loadRecords(db).first(where: { $0.id == id }) else { throw APIError.notFound("dns record \(id)") }
            try db.execute(sql: "DELETE FROM dns_records WHERE id = ?", arguments: [id])
            audit.append(AuditEntry(action: "dns.delete", objectType: "dns_record", objectID: id,
                                    before: FerryStore.json(FerryStore.recordView(r, zone: zone))))
        }
    }

    /// What the DNS server answers from, cached like the compiler: rebuilt only after a
    /// change (expiry is checked per query, so an expired peer's names go at once).
    func zoneIndex() async throws -> ZoneIndex {
        let revision = changes.revision
        if let z = zoneCache.withLock({ $0 }), z.revision == revision { return z.index }
        let compiler = try await compiler()
        let records = try await read { try FerryStore.loadRecords($0) }
        let index = ZoneIndex(compiler: compiler, records: records)
        zoneCache.withLock { $0 = (revision, index) }
        return index
    }
}

extension ZoneIndex {
    /// Every relative name a peer takes in the zone (`alice`, `alice.developers`), lowercased.
    static func peerNames(_ db: any SQLTransaction) throws -> Set<String> {
        let rows = try SQLRow.fetchAll(db, sql: "SELECT p.name AS name, s.name AS segment FROM peers p JOIN segments s ON s.id = p.segment_id")
        var out = Set<String>()
        for row in rows {
            let n = (row["name"] as String).lowercased(), s = (row["segment"] as String).lowercased()
            out.insert(n)
            out.insert("\(n).\(s)")
        }
        return out
    }
}

import FerryCore
import FerryDNS
import Foundation
import WireGuard

/// The zone's admin-managed records (A, AAAA, CNAME, SRV), changed like everything else:
/// validated first, audited in the same transaction, and seen by every replica's DNS
/// server through the store.
extension FerryStore {
    static func recordView(_ r: ZoneRecord, zone: DNSName) -> DNSRecordView {
        DNSRecordView(id: r.id, name: r.name.key, fqdn: zone.prepending(r.name.labels)?.key ?? r.name.key,
                      type: r.type.rawValue, value: r.value.text, ttl: r.ttl)
    }

    public func dnsRecords() async throws -> [DNSRecordView] {
        try await read { db in
            let zone = try db.network().zone
            return try db.dnsRecords().map { FerryStore.recordView($0, zone: zone) }
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
            let zone = try db.network().zone
            let existing = try db.dnsRecords().filter { $0.name == name }
            if existing.contains(where: { $0.type == type && $0.value == value }) { throw APIError.conflict("value", "the same record exists") }
            // RFC 1034 §3.6.2: a CNAME is alone at its name.
            if type == .CNAME, !existing.isEmpty { throw APIError.conflict("name", "\(name.key) has records; a CNAME must be alone") }
            if existing.contains(where: { $0.type == .CNAME }) { throw APIError.conflict("name", "\(name.key) is a CNAME") }
            if try ZoneIndex.peerNames(db).contains(name.key) {
                throw APIError.conflict("name", "\(name.key) is a peer's name in the zone")
            }
            let r = ZoneRecord(id: IDs.make("dns"), name: name, type: type, value: value, ttl: ttl)
            try db.insertDNSRecord(r, now: now)
            let view = FerryStore.recordView(r, zone: zone)
            audit.append(AuditEntry(action: "dns.create", objectType: "dns_record", objectID: r.id, after: FerryStore.json(view)))
            return view
        }
    }

    public func deleteDNSRecord(id: String, caller: Caller) async throws {
        try await write(caller) { db, audit, _ in
            let zone = try db.network().zone
            guard let r = try db.dnsRecords().first(where: { $0.id == id }) else { throw APIError.notFound("dns record \(id)") }
            try db.deleteDNSRecord(id: id)
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
        let records = try await read { try $0.dnsRecords() }
        let index = ZoneIndex(compiler: compiler, records: records)
        zoneCache.withLock { $0 = (revision, index) }
        return index
    }
}

extension ZoneIndex {
    /// Every relative name a peer takes in the zone (`alice`, `alice.developers`), lowercased.
    static func peerNames(_ db: any StoreRepository) throws -> Set<String> {
        var out = Set<String>()
        for row in try db.peerZoneNames() {
            let n = row.name.lowercased(), s = row.segment.lowercased()
            out.insert(n)
            out.insert("\(n).\(s)")
        }
        return out
    }
}

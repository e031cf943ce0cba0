import FerryCore
import FerryDNS
import Foundation
import WireGuard

/// The zone's admin-managed records.
protocol DNSRecordRepository: AnyObject {
    /// Ordered by name, type, creation.
    func dnsRecords() throws -> [ZoneRecord]
    func insertDNSRecord(_ r: ZoneRecord, now: Millis) throws
    func deleteDNSRecord(id: String) throws
}

extension SQLRepository: DNSRecordRepository {
    func dnsRecords() throws -> [ZoneRecord] {
        try SQLRow.fetchAll(db, sql: "SELECT * FROM dns_records ORDER BY name, type, created_at, id").map { row in
            let id: String = row["id"]
            guard let type = ZoneRecordType(rawValue: row["type"]), let name = DNSName(row["name"] as String),
                  let value = ZoneRecordValue.parse(row["value"], type: type) else { throw StoreError.corrupt("dns record \(id)") }
            return ZoneRecord(id: id, name: name, type: type, value: value, ttl: row["ttl"])
        }
    }

    func insertDNSRecord(_ r: ZoneRecord, now: Millis) throws {
        try db.execute(sql: "INSERT INTO dns_records (id, name, type, value, ttl, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                       arguments: [r.id, r.name.key, r.type.rawValue, r.value.text, r.ttl, now])
    }

    func deleteDNSRecord(id: String) throws {
        try db.execute(sql: "DELETE FROM dns_records WHERE id = ?", arguments: [id])
    }
}

import FerryCore
import Hummingbird

extension RouteTable {
    /// The zone's admin-managed records (docs/dns.md).
    func registerDNS() {
        let store = self.store
        add(.get, "/v1/dns/records", scopes: Scopes.readers) { _, _, _ in try HTTP.json(ListResponse(items: try await store.dnsRecords())) }
        add(.post, "/v1/dns/records", scopes: Scopes.admin) { req, ctx, caller in
            try HTTP.json(try await store.createDNSRecord(try await HTTP.body(CreateDNSRecordRequest.self, req, ctx), caller: caller),
                          status: .created)
        }
        add(.delete, "/v1/dns/records/{id}", scopes: Scopes.admin) { _, ctx, caller in
            try await store.deleteDNSRecord(id: try HTTP.id(ctx), caller: caller)
            return HTTP.empty()
        }
    }
}

import FerryCore

/// The zone's records and settings (docs/dns.md).
extension CoordinatorClient {
    public func dnsRecords() async throws(FerryError) -> [DNSRecordView] {
        try await call(.GET, "/v1/dns/records", as: ListResponse<DNSRecordView>.self).items
    }

    public func createDNSRecord(_ r: CreateDNSRecordRequest) async throws(FerryError) -> DNSRecordView {
        try await call(.POST, "/v1/dns/records", body: r)
    }

    public func deleteDNSRecord(id: String) async throws(FerryError) {
        do throws(FerryError) { try await send(.DELETE, "/v1/dns/records/\(Self.escape(id))") } catch where error.kind == .notFound {
            throw FerryError(.notFound, "no DNS record '\(id)'; 'ferry dns ls' lists them")
        }
    }

    public func updateNetwork(_ r: UpdateNetworkRequest) async throws(FerryError) -> NetworkView {
        try await call(.PATCH, "/v1/network", body: r)
    }
}

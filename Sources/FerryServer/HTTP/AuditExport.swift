import FerryCore
import Foundation
import Hummingbird

/// GET /v1/audit/export: the audit log as NDJSON, one page of records at a time.
enum AuditExport {
    static let pageSize = 500

    /// Writes `first` and then the following pages of `query` (records after the last
    /// sequence number written) until a short page.
    static func write(first: [AuditEventView], query: AuditQuery, store: any FerryService,
                      to writer: inout any ResponseBodyWriter) async throws {
        let encoder = FerryJSON.encoder()
        var page = first, q = query
        while true {
            var buffer = ByteBuffer()
            for e in page {
                buffer.writeBytes(try encoder.encode(e))
                buffer.writeInteger(UInt8(ascii: "\n"))
            }
            if buffer.readableBytes > 0 { try await writer.write(buffer) }
            guard page.count == pageSize, let last = page.last else { break }
            q.afterSeq = last.seq
            page = try await store.audit(q)
        }
        try await writer.finish(nil)
    }
}

import FerryCore
import Foundation
import WireGuard

/// A `ferry join` whose answer was lost (the connection broke after ferryd committed) may
/// be repeated: the same enrolment token with the same public key, within `window` of the
/// first use, gets the same peer back, with a new device token (the first one's secret
/// never reached the machine; it is deleted). Anything else with a spent token is refused
/// with what to do.
enum EnrolmentRetry {
    static let windowMs: Millis = 10 * 60 * 1000

    static func spent(at: Millis) -> String {
        "enrolment token already used (at \(ISO8601DateFormatter().string(from: Views.date(at)))); each enrolment token enrols one machine: ask your admin for a new one (ferry tokens add NAME --scope enroll)"
    }

    static func repeatEnrolment(_ store: FerryStore, key: PublicKey, usedAt: Millis, caller: Caller) async throws -> EnrollResponse {
        let secret = TokenSecret.generate()
        return try await store.write(caller) { db, audit, now in
            let rows = try db.peers(.created(by: caller.auditName, publicKey: key.base64))
            guard let r = rows.first else { throw APIError.unauthorized(spent(at: usedAt)) }
            let segments = try FerryStore.context(db).segments
            for token in try db.tokens(peerID: r.peer.id, scope: .device) {
                let old = FerryStore.tokenView(token, segments: segments)
                try db.deleteToken(id: old.id)
                audit.append(AuditEntry(action: "token.delete", objectType: "token", objectID: old.id, peerID: r.peer.id, before: FerryStore.json(old)))
            }
            let token = try FerryStore.insertToken(db, name: "device-\(r.peer.name)", scope: .device, secret: secret, now: now,
                                                   createdBy: caller.auditName, peerID: r.peer.id)
            audit.append(AuditEntry(action: "token.create", objectType: "token", objectID: token.id, peerID: r.peer.id, after: FerryStore.json(token)))
            let view = try FerryStore.peerView(db, r)
            let map = PolicyCompiler(try FerryStore.topology(db)).networkMap(for: r.peer, at: now)
            return EnrollResponse(peer: view, deviceToken: secret, netmap: map)
        }
    }
}

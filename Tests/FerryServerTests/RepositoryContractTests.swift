import FerryCore
@testable import FerryServer
import Foundation
import Testing
import WireGuard

/// The repository's contract, on both engines beneath it: the conditional writes the
/// service's cross-replica guarantees rest on (single use, idempotent verdicts, replays)
/// answer the same on SQLite and PostgreSQL, and what is written reads back unchanged.
@Suite("Repository contract on both engines")
struct RepositoryContractTests {
    @Test(arguments: Engine.all) func conditionalWritesAndRoundTrips(engine: Engine) async throws {
        let h = try await Harness.make(engine: engine)
        _ = try await h.store.createSegment(CreateSegmentRequest(name: "dev", ipv4: "10.10.8.0/24"), caller: .system("test"))
        let created = try await h.store.createPeer(CreatePeerRequest(name: "laptop", segment: "dev", publicKey: newPublicKey()),
                                                   caller: .system("test"))
        let id = created.peer.id
        let now = h.clock.now()
        let results = try await h.store.engine.writeRepository { db -> [String: String] in
            var out: [String: String] = [:]
            // A peer reads back as the service stored it; a saved change is read back.
            guard var peer = try db.peer(id: id)?.peer else { return ["peer": "missing"] }
            out["address taken"] = "\(try db.addressTaken(peer.ipv4))"
            out["cursor past it"] = "\(try db.allocationCursor(segmentID: peer.segmentID).map { $0.value > peer.ipv4.value } ?? false)"
            peer.mtu = 1380
            peer.enabled = false
            try db.savePeer(peer)
            out["saved"] = "\(try db.peer(id: id)?.peer == peer)"
            out["dependents"] = try db.segmentDependents(id: peer.segmentID).joined(separator: ",")

            // Single use: the second mark of the same token fails.
            try db.insertToken(TokenRecord(id: "tok_contract", name: "once", scope: Scope.enroll.rawValue, secretHash: "h1",
                                           segmentID: peer.segmentID, maxTTL: nil, peerID: nil, kind: nil, owner: nil, expiresAt: nil,
                                           createdAt: now, createdBy: "test", allowFullTunnel: false, allowMesh: true))
            out["used first"] = "\(try db.markTokenUsed(id: "tok_contract", at: now))"
            out["used again"] = "\(try db.markTokenUsed(id: "tok_contract", at: now + 1))"
            let token = try db.token(secretHash: "h1")
            out["token"] = "\(token?.usedAt == now) \(token?.segmentName ?? "-") \(token?.allowMesh == true)"

            // Verdicts change once; the same verdict again changes nothing.
            try db.recordHeartbeat(peerID: id, at: now, observed: "{}")
            out["down"] = "\(try db.setGatewayUp(peerID: id, false, at: now))"
            out["down again"] = "\(try db.setGatewayUp(peerID: id, false, at: now))"
            out["liveness"] = try db.gatewayLiveness().map { "\($0.id == id) \($0.up) \($0.heartbeat == now)" }.joined()

            // An ID token is used once until it expires.
            out["jwt first"] = "\(try db.useIDTokenOnce(key: "jti:x", until: now + 1000, now: now))"
            out["jwt replay"] = "\(try db.useIDTokenOnce(key: "jti:x", until: now + 1000, now: now))"
            out["jwt after expiry"] = "\(try db.useIDTokenOnce(key: "jti:x", until: now + 5000, now: now + 2000))"

            // A sign-in is taken once.
            try db.insertPortalLogin(stateHash: "s1", PortalLoginRecord(nonce: "n", verifier: "v", returnTo: "/", createdAt: now),
                                     forgetBefore: now - 1)
            out["login"] = try db.takePortalLogin(stateHash: "s1")?.nonce ?? "-"
            out["login again"] = try db.takePortalLogin(stateHash: "s1")?.nonce ?? "-"
            out["revoke unknown"] = "\(try db.revokePortalSession(id: "ps_none", at: now))"

            // The audit sequence goes on from the last record, without gaps.
            let last = try db.lastAuditSeq()
            try db.appendAudit(AuditEntry(action: "test.a", objectType: "t", objectID: "1"), actor: "test", at: now)
            try db.appendAudit(AuditEntry(action: "test.b", objectType: "t", objectID: "2"), actor: "test", at: now)
            out["audit"] = try db.audit(AuditQuery(afterSeq: last)).map { "\($0.seq - last):\($0.action)" }.joined(separator: ",")

            try db.deletePeer(id: id)
            out["deleted"] = "\(try db.peer(id: id) == nil) \(try db.addressTaken(peer.ipv4))"
            return out
        }
        #expect(results == [
            "address taken": "true", "cursor past it": "true", "saved": "true", "dependents": "peers",
            "used first": "true", "used again": "false", "token": "true dev true",
            "down": "true", "down again": "false", "liveness": "true false true",
            "jwt first": "true", "jwt replay": "false", "jwt after expiry": "true",
            "login": "n", "login again": "-", "revoke unknown": "false",
            "audit": "1:test.a,2:test.b", "deleted": "true false",
        ])
    }
}

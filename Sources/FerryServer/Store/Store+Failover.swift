import FerryCore
import Foundation

/// Gateway failover in the store: each gateway's priority, its heartbeats, and the
/// coordinator's verdict (`up`), which the policy compiler reads to pick the gateway that
/// carries each subnet (FerryCore's GatewayFailover.swift).
///
/// A heartbeat only records that the gateway is alive (no audit, no wake-up: it comes
/// every second). `GatewayLiveness` (a service of every ferryd) turns heartbeats into
/// verdicts: down when the last one is older than `downAfter`; up again only after it has
/// been alive without a gap for `holdDown`, so a gateway that comes and goes does not drag
/// every agent's routes with it. A verdict is a write with its audit record
/// (`gateway.down`, `gateway.up`), so it wakes every long poll like any other change.
/// Verdicts are idempotent (`setGatewayUp` changes only a different verdict), so several
/// replicas may each run the check.
extension FerryStore {
    static let defaultGatewayPriority = 100

    static func validatePriority(_ p: Int?) throws(APIError) -> Int? {
        guard let p else { return nil }
        guard (0...10_000).contains(p) else { throw .invalid("priority", "must be between 0 and 10000 (lower carries first)") }
        return p
    }

    /// A token for one gateway host (`ferryd gateway`): it may read that gateway's network
    /// map (long poll) and send its heartbeats, nothing else.
    public func createGatewayToken(id: String, caller: Caller) async throws -> TokenCreated {
        let secret = TokenSecret.generate()
        return try await write(caller) { db, audit, now in
            guard let r = try db.peer(id: id), r.gateway != nil else { throw APIError.notFound("gateway \(id)") }
            let view = try FerryStore.insertToken(db, name: "gateway-\(r.peer.name)", scope: .gateway, secret: secret, now: now,
                                                  createdBy: caller.auditName, peerID: id)
            audit.append(AuditEntry(action: "token.create", objectType: "token", objectID: view.id, peerID: id, after: FerryStore.json(view)))
            return TokenCreated(token: view, secret: secret)
        }
    }

    /// A gateway says it is alive (unless it reports a problem) and what it observes.
    public func gatewayHeartbeat(id: String, _ req: GatewayHeartbeatRequest, caller: Caller) async throws -> GatewayHeartbeatResponse {
        if let p = req.problem, p.count > 1000 { throw APIError.invalid("problem", "at most 1000 characters") }
        if let peers = req.peers, peers.count > 100_000 { throw APIError.invalid("peers", "too many entries") }
        let summary = HeartbeatSummary(mapVersion: req.mapVersion, peers: req.peers?.count ?? 0,
                                       handshakes: req.peers?.filter { $0.latestHandshake > 0 }.count ?? 0, problem: req.problem)
        let observed = FerryStore.json(summary)
        try await write(caller) { db, _, now in
            let r = try FerryStore.requirePeer(db, id: id, caller: caller, write: false)
            guard r.gateway != nil else { throw APIError.notFound("gateway \(id)") }
            if caller.scope == .readOnly { throw APIError.forbidden("a read-only token cannot send heartbeats") }
            if req.problem == nil {
                try db.recordHeartbeat(peerID: id, at: now, observed: observed)
            } else {
                try db.recordObservation(peerID: id, observed: observed)
            }
        }
        let compiler = try await compiler()
        let me = compiler.topology.gateways.first { $0.peerID == id }
        let active = compiler.activeGateways.filter { $0.value == id }.keys.sorted().map(\.description)
        let status = req.problem != nil ? "down" : (me?.up ?? true) ? "up" : "held-down"
        return GatewayHeartbeatResponse(status: status, active: active)
    }

    /// One liveness pass at `now`: gateways whose heartbeats stopped go down, gateways
    /// alive for `holdDownMs` come back up. `notBefore`: heartbeats count as at least this
    /// recent (the checker's start: a restarted coordinator first waits for heartbeats
    /// instead of marking every gateway down for the time it was away). Returns the
    /// verdicts it changed, by gateway name.
    func evaluateGatewayLiveness(downAfterMs: Int64, holdDownMs: Int64, notBefore: Millis) async throws -> [(name: String, up: Bool)] {
        @Sendable func pending(_ db: any StoreRepository, now: Millis) throws -> (verdicts: [(GatewayLivenessRow, Bool)], stale: [String]) {
            var verdicts: [(GatewayLivenessRow, Bool)] = [], stale: [String] = []
            for r in try db.gatewayLiveness() {
                let alive = now - max(r.heartbeat, notBefore) <= downAfterMs
                if r.up, !alive { verdicts.append((r, false)) }
                else if !r.up, alive, let since = r.aliveSince, now - since >= holdDownMs { verdicts.append((r, true)) }
                else if !alive, r.aliveSince != nil { stale.append(r.id) }
            }
            return (verdicts, stale)
        }
        let now = clock.now()
        let first = try await read { try pending($0, now: now) }
        if !first.stale.isEmpty {
            // Alive again and then silent before the hold-down ended: the hold-down starts over.
            try await writeUnaudited { db in
                for id in first.stale { try db.clearAliveSince(peerID: id) }
            }
        }
        guard !first.verdicts.isEmpty else { return [] }
        return try await write(.system("gateway-liveness")) { db, audit, now in
            var changed: [(name: String, up: Bool)] = []
            for (r, up) in try pending(db, now: now).verdicts {
                guard try db.setGatewayUp(peerID: r.id, up, at: now) else { continue }
                let lastSeen = ISO8601DateFormatter().string(from: Views.date(r.heartbeat))
                audit.append(AuditEntry(action: up ? "gateway.up" : "gateway.down", objectType: "gateway", objectID: r.id, peerID: r.id,
                                        before: FerryStore.json(["status": r.up ? "up" : "down"]),
                                        after: FerryStore.json(["status": up ? "up" : "down", "lastHeartbeatAt": lastSeen])))
                changed.append((r.name, up))
            }
            return changed
        }
    }

    /// The gateway views with the subnets each carries now.
    func withActive(_ views: [GatewayView]) async throws -> [GatewayView] {
        let active = try await compiler().activeGateways
        return views.map { v in
            var v = v
            v.active = active.filter { $0.value == v.id }.keys.sorted().map(\.description)
            return v
        }
    }
}

/// What the store keeps of a heartbeat's observations.
struct HeartbeatSummary: Codable, Sendable {
    var mapVersion: Int64?
    var peers: Int
    var handshakes: Int
    var problem: String?
}

extension GatewayView {
    func withActive(_ store: FerryStore) async throws -> GatewayView {
        try await store.withActive([self]).first ?? self
    }
}

extension Array where Element == GatewayView {
    func withActive(_ store: FerryStore) async throws -> [GatewayView] {
        try await store.withActive(self)
    }
}

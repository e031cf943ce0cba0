import FerryCore
import Foundation
import HTTPTypes
import Hummingbird

/// Which scopes may call what (see docs/ferryd.md for the matrix).
enum Scopes {
    static let admin: Set<Scope> = [.admin]
    static let readers: Set<Scope> = [.admin, .readOnly]
    static let peerCreators: Set<Scope> = [.admin, .ci]
    static let peerReaders: Set<Scope> = [.admin, .readOnly, .ci, .device]
    static let peerDeleters: Set<Scope> = [.admin, .ci]
    static let deviceSelf: Set<Scope> = [.admin, .readOnly, .device]
    static let reporters: Set<Scope> = [.admin, .device]
    static let keyRotators: Set<Scope> = [.admin, .device]
    static let mapReaders: Set<Scope> = [.admin, .readOnly, .device, .gateway]
    static let heartbeats: Set<Scope> = [.admin, .gateway]
}

extension RouteTable {
    func registerSystem(version: String, openAPI: String, metricsScopes: Set<Scope>? = nil, health: GatewayHealth) {
        add(.get, "/health", scopes: nil) { _, _, _ in
            guard let problem = health.problem else { return try HTTP.json(HealthView(status: "ok", version: version)) }
            return try HTTP.json(HealthView(status: "degraded", version: version, problems: [problem]), status: .serviceUnavailable)
        }
        add(.get, "/openapi.yaml", scopes: nil) { _, _, _ in HTTP.text(openAPI, type: "application/yaml") }
        let store = self.store, metrics = self.metrics, connections = self.connections, longPolls = self.longPolls
        add(.get, "/metrics", scopes: metricsScopes) { _, _, _ in
            metrics.setPeerCounts(try await store.peerCounts())
            metrics.setMeshLinks(store.meshLinkTotals())
            metrics.setConnections(connections.counts, longPolls: longPolls.waiting)
            return HTTP.text(metrics.render(), type: "text/plain; version=0.0.4")
        }
    }

    func registerNetwork() {
        let store = self.store
        add(.get, "/v1/network", scopes: Scopes.readers) { _, _, _ in try HTTP.json(try await store.network()) }
        add(.patch, "/v1/network", scopes: Scopes.admin) { req, ctx, caller in
            try HTTP.json(try await store.updateNetwork(try await HTTP.body(UpdateNetworkRequest.self, req, ctx), caller: caller))
        }
        add(.get, "/v1/segments", scopes: Scopes.readers) { _, _, _ in try HTTP.json(ListResponse(items: try await store.segments())) }
        add(.post, "/v1/segments", scopes: Scopes.admin) { req, ctx, caller in
            try HTTP.json(try await store.createSegment(try await HTTP.body(CreateSegmentRequest.self, req, ctx), caller: caller), status: .created)
        }
        add(.get, "/v1/segments/{name}", scopes: Scopes.readers) { _, ctx, _ in
            try HTTP.json(try await store.segment(named: try HTTP.id(ctx, "name")))
        }
        add(.delete, "/v1/segments/{name}", scopes: Scopes.admin) { _, ctx, caller in
            try await store.deleteSegment(named: try HTTP.id(ctx, "name"), caller: caller)
            return HTTP.empty()
        }
        add(.get, "/v1/policy/rules", scopes: Scopes.readers) { _, _, _ in try HTTP.json(ListResponse(items: try await store.rules())) }
        add(.post, "/v1/policy/rules", scopes: Scopes.admin) { req, ctx, caller in
            try HTTP.json(try await store.createRule(try await HTTP.body(CreatePolicyRuleRequest.self, req, ctx), caller: caller), status: .created)
        }
        add(.delete, "/v1/policy/rules/{id}", scopes: Scopes.admin) { _, ctx, caller in
            try await store.deleteRule(id: try HTTP.id(ctx), caller: caller)
            return HTTP.empty()
        }
    }

    func registerPeers() {
        let store = self.store, longPolls = self.longPolls, connections = self.connections
        add(.get, "/v1/peers", scopes: Scopes.peerReaders, query: ["segment", "kind", "owner"]) { req, _, caller in
            let items = try await store.peers(caller: caller, segment: HTTP.query(req, "segment"), kind: HTTP.query(req, "kind"),
                                              owner: HTTP.query(req, "owner"))
            return try HTTP.json(ListResponse(items: items))
        }
        add(.post, "/v1/peers", scopes: Scopes.peerCreators) { req, ctx, caller in
            try HTTP.json(try await store.createPeer(try await HTTP.body(CreatePeerRequest.self, req, ctx), caller: caller), status: .created)
        }
        add(.get, "/v1/peers/{id}", scopes: Scopes.peerReaders) { _, ctx, caller in
            try HTTP.json(try await store.peer(id: try HTTP.id(ctx), caller: caller))
        }
        add(.patch, "/v1/peers/{id}", scopes: Scopes.admin) { req, ctx, caller in
            try HTTP.json(try await store.updatePeer(id: try HTTP.id(ctx), try await HTTP.body(UpdatePeerRequest.self, req, ctx), caller: caller))
        }
        add(.delete, "/v1/peers/{id}", scopes: Scopes.peerDeleters) { _, ctx, caller in
            try await store.deletePeer(id: try HTTP.id(ctx), caller: caller)
            return HTTP.empty()
        }
        add(.post, "/v1/peers/{id}/rotate-key", scopes: Scopes.keyRotators) { req, ctx, caller in
            try HTTP.json(try await store.rotateKey(peerID: try HTTP.id(ctx), try await HTTP.body(RotateKeyRequest.self, req, ctx), caller: caller))
        }
        add(.get, "/v1/peers/{id}/config", scopes: Scopes.peerReaders, query: ["format"]) { req, ctx, caller in
            let text = try await store.config(peerID: try HTTP.id(ctx), caller: caller)
            return try ConfigQR.response(text, format: HTTP.query(req, "format") ?? "wg-quick")
        }
        add(.get, "/v1/peers/{id}/netmap", scopes: Scopes.mapReaders, query: ["since", "wait", "interface"]) { req, ctx, caller in
            let id = try HTTP.id(ctx)
            let wait = try HTTP.queryInt(req, "wait", 0...300) ?? 0
            let interface = HTTP.query(req, "interface")
            guard let since = try HTTP.queryInt(req, "since", Int64.min...Int64.max) else {
                return try HTTP.json(try await store.networkMap(peerID: id, caller: caller, interface: interface))
            }
            // A wait holds a connection: capped, stopped when the client goes away,
            // answered at once on shutdown.
            let poll: @Sendable (Bool) async throws -> NetworkMap? = { mayWait in
                try await store.networkMap(peerID: id, caller: caller, since: since, wait: .seconds(mayWait ? wait : 0), interface: interface)
            }
            if wait > 0, HeartbeatPoll.requested(req) {
                // Errors and a changed map answered as usual; then the head at once and
                // newlines while it waits (HeartbeatPoll).
                if let map = try await poll(false) { return try HTTP.json(map) }
                try longPolls.check(token: caller.tokenID)
                let channel = ctx.channel
                return HeartbeatPoll.response { try await longPolls.run(token: caller.tokenID, channel: channel, connections: connections, poll) }
            }
            let answer = wait == 0 ? try await store.networkMap(peerID: id, caller: caller, since: since, wait: .zero, interface: interface)
                : try await longPolls.run(token: caller.tokenID, channel: ctx.channel, connections: connections, poll)
            guard let map = answer else {
                return Response(status: .notModified, headers: [.eTag: "\"\(since)\""])
            }
            return try HTTP.json(map)
        }
        add(.post, "/v1/peers/{id}/report", scopes: Scopes.reporters) { req, ctx, caller in
            try await store.report(peerID: try HTTP.id(ctx), try await HTTP.body(ReportRequest.self, req, ctx), caller: caller)
            return HTTP.empty()
        }
    }

    func registerGateways() {
        let store = self.store
        add(.get, "/v1/gateways", scopes: Scopes.readers) { _, _, _ in try HTTP.json(ListResponse(items: try await store.gateways())) }
        add(.post, "/v1/gateways", scopes: Scopes.admin) { req, ctx, caller in
            try HTTP.json(try await store.createGateway(try await HTTP.body(CreateGatewayRequest.self, req, ctx), caller: caller), status: .created)
        }
        add(.get, "/v1/gateways/{id}", scopes: Scopes.readers) { _, ctx, _ in try HTTP.json(try await store.gateway(id: try HTTP.id(ctx))) }
        add(.patch, "/v1/gateways/{id}", scopes: Scopes.admin) { req, ctx, caller in
            try HTTP.json(try await store.updateGateway(id: try HTTP.id(ctx), try await HTTP.body(UpdateGatewayRequest.self, req, ctx), caller: caller))
        }
        add(.delete, "/v1/gateways/{id}", scopes: Scopes.admin) { _, ctx, caller in
            let id = try HTTP.id(ctx)
            _ = try await store.gateway(id: id)
            try await store.deletePeer(id: id, caller: caller)
            return HTTP.empty()
        }
        add(.post, "/v1/gateways/{id}/rotate-key", scopes: Scopes.admin) { req, ctx, caller in
            let id = try HTTP.id(ctx)
            _ = try await store.gateway(id: id)
            let r = try await HTTP.body(RotateKeyRequest.self, req, ctx)
            if r.generateKey == true { throw APIError.invalid("generateKey", "a gateway's private key is generated where it runs") }
            _ = try await store.rotateKey(peerID: id, r, caller: caller)
            return try HTTP.json(try await store.gateway(id: id))
        }
        registerFailover()
        add(.get, "/v1/gateways/{id}/config", scopes: Scopes.readers, query: ["format", "interface"]) { req, ctx, _ in
            HTTP.text(try await store.gatewayConfig(id: try HTTP.id(ctx), format: HTTP.query(req, "format") ?? "wg-quick",
                                                    interface: HTTP.query(req, "interface")))
        }
    }

    func registerTokens() {
        let store = self.store
        add(.get, "/v1/tokens", scopes: Scopes.admin) { _, _, _ in try HTTP.json(ListResponse(items: try await store.tokens())) }
        add(.post, "/v1/tokens", scopes: Scopes.admin) { req, ctx, caller in
            try HTTP.json(try await store.createToken(try await HTTP.body(CreateTokenRequest.self, req, ctx), caller: caller), status: .created)
        }
        add(.delete, "/v1/tokens/{id}", scopes: Scopes.admin, query: ["confirm"]) { req, ctx, caller in
            let confirm = HTTP.query(req, "confirm")
            if let confirm, confirm != "self" { throw APIError.invalid("confirm", "the only value is self") }
            try await store.deleteToken(id: try HTTP.id(ctx), caller: caller, confirmSelf: confirm == "self")
            return HTTP.empty()
        }
        add(.post, "/v1/enroll", scopes: [.enroll]) { req, ctx, caller in
            try HTTP.json(try await store.enroll(try await HTTP.body(EnrollRequest.self, req, ctx), caller: caller), status: .created)
        }
    }

    /// The audit log's filters from a request's query (/v1/audit and the portal's).
    static func auditQuery(_ req: Request, limit: Bool) throws -> AuditQuery {
        AuditQuery(since: try HTTP.queryDate(req, "since"), until: try HTTP.queryDate(req, "until"),
                   peer: HTTP.query(req, "peer"), actor: HTTP.query(req, "actor"),
                   afterSeq: try HTTP.queryInt(req, "after", 0...Int64.max),
                   limit: limit ? Int(try HTTP.queryInt(req, "limit", 1...1000) ?? 100) : nil)
    }

    func registerAudit() {
        let store = self.store
        @Sendable func query(_ req: Request, limit: Bool) throws -> AuditQuery { try RouteTable.auditQuery(req, limit: limit) }
        add(.get, "/v1/audit", scopes: Scopes.readers, query: ["since", "until", "peer", "actor", "after", "limit"]) { req, _, _ in
            try HTTP.json(ListResponse(items: try await store.audit(try query(req, limit: true))))
        }
        add(.get, "/v1/audit/export", scopes: Scopes.readers, query: ["since", "until", "peer", "actor", "after"]) { req, _, _ in
            // Streamed a page at a time (by sequence number), so the whole log is never in
            // memory; the first page is read before the 200, so a bad query or a failing
            // store is still a clean error.
            var paged = try query(req, limit: false)
            paged.limit = AuditExport.pageSize
            let q = paged, first = try await store.audit(q)
            return Response(status: .ok, headers: [.contentType: "application/x-ndjson"],
                            body: ResponseBody { writer in try await AuditExport.write(first: first, query: q, store: store, to: &writer) })
        }
    }
}

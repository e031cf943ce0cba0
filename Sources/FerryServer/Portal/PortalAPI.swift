import FerryCore
import Foundation
import HTTPTypes
import Hummingbird
import Synchronization

/// Who is signed in (GET /portal/api/me).
struct PortalMe: Codable, Sendable {
    var person: String
    var role: String
    var segment: String?
    var method: String
    var expiresAt: Date
}

extension RouteTable {
    /// The portal's JSON endpoints (docs/openapi.yaml, cookie-authenticated). Each calls the
    /// same store method as the /v1 route it mirrors, with the session's caller.
    func registerPortalAPI(store: FerryStore, signIn: PortalSignIn?, history: TrafficHistory) {
        portal(.get, "/portal/api/me", signIn: signIn) { _, _, s in
            try HTTP.json(PortalMe(person: s.person, role: s.role.rawValue, segment: s.segment, method: s.method, expiresAt: Views.date(s.expiresAt)))
        }
        let streams = PortalEvents.Streams()
        portal(.get, "/portal/api/events", signIn: signIn) { _, _, s in
            guard streams.open(s.id) else {
                var r = HTTP.error(APIError(status: 429, code: "rate_limited", message: "at most \(PortalEvents.perSession) event streams per session"))
                r.headers[.retryAfter] = "10"
                return r
            }
            return PortalEvents.stream(store.changes) { streams.close(s.id) }
        }

        // A person's own devices (an admin's session sees every device, as an admin token does).
        portal(.get, "/portal/api/devices", signIn: signIn) { _, _, s in
            try HTTP.json(ListResponse(items: try await store.portalDevices(caller: s.caller)))
        }
        portal(.post, "/portal/api/devices", signIn: signIn) { req, ctx, s in
            try HTTP.json(try await store.portalAddDevice(try await HTTP.body(PortalAddDeviceRequest.self, req, ctx), caller: s.caller), status: .created)
        }
        portal(.patch, "/portal/api/devices/{id}", signIn: signIn) { req, ctx, s in
            let r = try await HTTP.body(PortalRenameRequest.self, req, ctx)
            return try HTTP.json(try await store.updatePeer(id: try HTTP.id(ctx), UpdatePeerRequest(name: r.name), caller: s.caller))
        }
        portal(.delete, "/portal/api/devices/{id}", signIn: signIn) { _, ctx, s in
            // A person may delete their own device: through the API's deletePeer, whose
            // authorization lets the admin and (here) the owner's portal caller through.
            try await store.deletePeer(id: try HTTP.id(ctx), caller: s.caller)
            return HTTP.empty()
        }
        portal(.post, "/portal/api/devices/{id}/config", signIn: signIn) { _, ctx, s in
            let peer = try await store.peer(id: try HTTP.id(ctx), caller: s.caller)
            return try HTTP.json(try await store.portalIssue(peer, caller: s.caller))
        }
        portal(.post, "/portal/api/devices/{id}/rotate-key", signIn: signIn) { req, ctx, s in
            try HTTP.json(try await store.portalRotate(peerID: try HTTP.id(ctx), try await HTTP.body(PortalRotateRequest.self, req, ctx), caller: s.caller))
        }

        // Traffic over time (the charts): an admin sees every peer and gateway, a person
        // their own devices. A call also takes a sample when the last is a few seconds old.
        portal(.get, "/portal/api/traffic", signIn: signIn) { _, _, s in
            let now = Date()
            let revision = store.changes.revision
            if history.due(now: now, revision: revision) { history.record(try await store.peers(caller: .system("traffic")), now: now, revision: revision) }
            let own: Set<String>? = s.role == .admin ? nil : Set(try await store.portalDevices(caller: s.caller).map(\.peer.id))
            return try HTTP.json(ListResponse(items: history.series(only: own)))
        }
        portal(.delete, "/portal/api/admin/tokens/{id}", admin: true, signIn: signIn) { _, ctx, s in
            // The API's deleteToken: the last admin token, and the session's own sign-in
            // token, are refused there with a clear message (no confirm=self from the page).
            try await store.deleteToken(id: try HTTP.id(ctx), caller: s.caller)
            return HTTP.empty()
        }
        portal(.get, "/portal/api/admin/audit", admin: true, signIn: signIn) { req, _, _ in
            // The admin page's filters: the API's audit query, plus an action, newest first.
            var q = try RouteTable.auditQuery(req, limit: true)
            q.action = HTTP.query(req, "action")
            q.newestFirst = true
            return try HTTP.json(ListResponse(items: try await store.audit(q)))
        }

        // Admins.
        portal(.get, "/portal/api/admin/peers", admin: true, signIn: signIn) { _, _, s in
            try HTTP.json(ListResponse(items: try await store.peers(caller: s.caller)))
        }
        portal(.delete, "/portal/api/admin/peers/{id}", admin: true, signIn: signIn) { _, ctx, s in
            try await store.deletePeer(id: try HTTP.id(ctx), caller: s.caller)
            return HTTP.empty()
        }
        portal(.post, "/portal/api/admin/segments", admin: true, signIn: signIn) { req, ctx, s in
            try HTTP.json(try await store.createSegment(try await HTTP.body(CreateSegmentRequest.self, req, ctx), caller: s.caller), status: .created)
        }
        portal(.post, "/portal/api/admin/policy/preview", admin: true, signIn: signIn) { req, ctx, _ in
            try HTTP.json(try await store.policyPreview(try await HTTP.body(PolicyPreviewRequest.self, req, ctx)))
        }
        portal(.post, "/portal/api/admin/policy/rules", admin: true, signIn: signIn) { req, ctx, s in
            try HTTP.json(try await store.createRule(try await HTTP.body(CreatePolicyRuleRequest.self, req, ctx), caller: s.caller), status: .created)
        }
        portal(.delete, "/portal/api/admin/policy/rules/{id}", admin: true, signIn: signIn) { _, ctx, s in
            try await store.deleteRule(id: try HTTP.id(ctx), caller: s.caller)
            return HTTP.empty()
        }
        portal(.post, "/portal/api/admin/gateways/{id}/rotate-key", admin: true, signIn: signIn) { _, ctx, s in
            // The gateway ferryd hosts: ferryd makes the new key where the gateway runs.
            let id = try HTTP.id(ctx)
            _ = try await store.gateway(id: id)
            _ = try await store.rotateKey(peerID: id, RotateKeyRequest(), caller: s.caller)
            return try HTTP.json(try await store.gateway(id: id))
        }
        portal(.post, "/portal/api/admin/tokens", admin: true, signIn: signIn) { req, ctx, s in
            try HTTP.json(try await store.createToken(try await HTTP.body(CreateTokenRequest.self, req, ctx), caller: s.caller), status: .created)
        }
        portal(.get, "/portal/api/admin/sessions", admin: true, signIn: signIn) { _, _, _ in
            try HTTP.json(ListResponse(items: try await store.portalSessions()))
        }
        portal(.delete, "/portal/api/admin/sessions/{id}", admin: true, signIn: signIn) { _, ctx, s in
            try await store.portalRevokeSession(id: try HTTP.id(ctx), caller: s.caller)
            return HTTP.empty()
        }
    }
}

/// Server-sent events: `change` (with the change feed's revision) whenever the store
/// changes, a comment every 15 s so proxies keep the stream, and an end after a minute
/// (EventSource reconnects by itself). A stream whose client went away is only noticed at
/// that end (writes to it do not fail at once), hence the short life and the per-session
/// cap that bounds what one person can hold.
enum PortalEvents {
    /// Streams one session may hold at once (tabs, and reloads within the last minute).
    static let perSession = 16

    /// Open streams per session.
    final class Streams: Sendable {
        let open = Mutex<[String: Int]>([:])
        func open(_ session: String) -> Bool {
            open.withLock { o in
                guard o[session, default: 0] < PortalEvents.perSession else { return false }
                o[session, default: 0] += 1
                return true
            }
        }
        func close(_ session: String) {
            open.withLock { o in o[session] = (o[session] ?? 1) > 1 ? (o[session] ?? 1) - 1 : nil }
        }
    }

    static func stream(_ changes: ChangeFeed, onEnd: @escaping @Sendable () -> Void) -> Response {
        Response(status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-store"], body: ResponseBody { writer in
            defer { onEnd() }
            let end = ContinuousClock.now + .seconds(60)
            var revision = changes.revision
            try await writer.write(ByteBuffer(string: "retry: 2000\nevent: hello\ndata: \(revision)\n\n"))
            while ContinuousClock.now < end, !Task.isCancelled {
                let next = await changes.wait(after: revision, timeout: .seconds(15))
                if next > revision {
                    revision = next
                    try await writer.write(ByteBuffer(string: "event: change\ndata: \(revision)\n\n"))
                } else {
                    try await writer.write(ByteBuffer(string: ": keepalive\n\n"))
                }
            }
            try await writer.finish(nil)
        })
    }
}

import FerryCore
import Foundation

/// The admin page: peers (filters, TTL countdown), segments, policy with its preview,
/// gateways, tokens, sessions and the audit log. Rendered here; admin.js filters, counts
/// down, previews and applies changes, and redraws the page on every change event.
enum PortalAdminPages {
    struct Data: Sendable {
        var peers: [PeerView]
        var segments: [SegmentView]
        var rules: [PolicyRuleView]
        var gateways: [GatewayView]
        var tokens: [TokenView]
        var sessions: [PortalSessionView]
        var audit: [AuditEventView]

        static func load(_ store: FerryStore) async throws -> Data {
            Data(peers: try await store.peers(caller: .system("portal")), segments: try await store.segments(), rules: try await store.rules(),
                 gateways: try await store.gateways(), tokens: try await store.tokens(), sessions: try await store.portalSessions(),
                 audit: try await store.portalRecentAudit(50))
        }
    }

    static func admin(_ session: PortalSession, _ d: Data) -> HTML {
        let d8 = PortalPages.date
        let peers: [HTML] = d.peers.map { p in
            let ttl: HTML = p.expiresAt.map { "<span class=\"ttl\" data-expires=\"\(ISO8601DateFormatter().string(from: $0))\">…</span>" } ?? "-"
            return """
                <tr data-id="\(p.id)" data-segment="\(p.segment)" data-kind="\(p.kind)" data-owner="\(p.owner)" data-state="\(p.enabled ? "enabled" : "disabled")">
                <td class="name">\(p.name)</td><td>\(p.kind)</td><td>\(p.owner)</td><td>\(p.segment)</td><td>\(p.ipv4)</td>
                <td>\(d8(p.latestHandshake))</td><td>\(PortalPages.bytes(p.rxBytes)) / \(PortalPages.bytes(p.txBytes))</td><td>\(ttl)</td>
                <td><button type="button" data-delete-peer="\(p.id)">Remove</button></td></tr>
                """
        }
        let segments: [HTML] = d.segments.map { "<tr><td class=\"name\">\($0.name)</td><td>\($0.ipv4)</td><td>\($0.peers)</td></tr>" }
        let rules: [HTML] = d.rules.map { r in
            let to = r.toSegment.map { "segment " + $0 } ?? r.toSubnet.map { "subnet " + $0 } ?? r.toGateway.map { "gateway " + $0 } ?? "-"
            return "<tr><td>\(r.from)</td><td>\(to)</td><td>\(r.ports.isEmpty ? "all" : r.ports.joined(separator: " "))</td><td><button type=\"button\" data-delete-rule=\"\(r.id)\">Remove…</button></td></tr>"
        }
        // A gateway's liveness verdict (Store+Failover: up, down, unknown before its first
        // heartbeat), its priority, its last heartbeat and its WireGuard peer's last handshake.
        let handshakes = Dictionary(d.peers.map { ($0.id, $0.latestHandshake) }, uniquingKeysWith: { a, _ in a })
        let gateways: [HTML] = d.gateways.map { g in
            let status = g.enabled ? (g.status ?? "unknown") : "disabled"
            return """
                <tr data-id="\(g.id)"><td class="name">\(g.name)</td><td><span class="status status-\(status)">\(status)</span></td><td>\(g.priority.map(String.init) ?? "-")</td>
                <td>\(g.endpoint)</td><td>\(g.subnets.joined(separator: ", "))</td><td>\((g.active ?? []).joined(separator: ", "))</td>
                <td>\(d8(g.lastHeartbeatAt))</td><td>\(d8(handshakes[g.id] ?? nil))</td><td><code>\(g.publicKey)</code></td>
                <td><button type="button" data-rotate-gateway="\(g.id)">Rotate key</button></td></tr>
                """
        }
        let tokens: [HTML] = d.tokens.map { t in
            "<tr data-id=\"\(t.id)\"><td class=\"name\">\(t.name)</td><td>\(t.scope)</td><td>\(t.segment ?? "-")</td><td>\(d8(t.expiresAt))</td><td>\(t.createdBy)</td><td><button type=\"button\" data-revoke-token=\"\(t.id)\">Revoke</button></td></tr>"
        }
        let sessions: [HTML] = d.sessions.map { s in
            "<tr><td class=\"name\">\(s.person)</td><td>\(s.role)</td><td>\(s.method)</td><td>\(d8(s.expiresAt))</td><td><button type=\"button\" data-revoke-session=\"\(s.id)\">Revoke</button></td></tr>"
        }
        let audit: [HTML] = d.audit.map { e in
            "<tr><td>\(e.seq)</td><td>\(d8(e.at))</td><td>\(e.actor)</td><td>\(e.action)</td><td>\(e.objectType)/\(e.objectID)</td></tr>"
        }
        let segmentOptions: [HTML] = d.segments.map { "<option value=\"\($0.name)\">\($0.name)</option>" }
        return PortalPages.layout(title: "Admin", session: session, scripts: ["admin.js"], """
            <h1>Network</h1><p class="error" id="error" hidden></p>
            <section id="peers-section"><h2>Peers</h2>
            <div class="filters"><input id="filter-segment" placeholder="segment"><input id="filter-kind" placeholder="kind"><input id="filter-owner" placeholder="owner">
            <select id="filter-state"><option value="">any state</option><option>enabled</option><option>disabled</option></select></div>
            <table id="peers"><thead><tr><th>Name</th><th>Kind</th><th>Owner</th><th>Segment</th><th>Address</th><th>Last handshake</th><th>Traffic (rx/tx)</th><th>TTL</th><th></th></tr></thead>
            <tbody>\(peers)</tbody></table></section>
            <section><h2>Segments</h2><table id="segments"><thead><tr><th>Name</th><th>Prefix</th><th>Peers</th></tr></thead><tbody>\(segments)</tbody></table>
            <form id="add-segment"><input name="name" id="segment-name" placeholder="name" required><button type="submit">Add segment</button></form></section>
            <section><h2>Policy</h2><table id="rules"><thead><tr><th>From</th><th>To</th><th>Ports</th><th></th></tr></thead><tbody>\(rules)</tbody></table>
            <form id="add-rule"><select name="from" id="rule-from">\(segmentOptions)</select>
            <select name="kind" id="rule-kind"><option value="toSegment">segment</option><option value="toSubnet">subnet</option><option value="toGateway">gateway</option></select>
            <input name="to" id="rule-to" placeholder="target" required><input name="ports" id="rule-ports" placeholder="tcp/5432 (empty: all)">
            <button type="submit" id="preview-rule">Preview</button></form>
            <div id="preview" hidden><h3>This change</h3><ul id="preview-added"></ul><ul id="preview-removed"></ul><p id="preview-affected"></p>
            <button type="button" id="apply-rule">Apply</button> <button type="button" id="cancel-rule">Cancel</button></div></section>
            <section><h2>Gateways</h2><table id="gateways"><thead><tr><th>Name</th><th>Status</th><th>Priority</th><th>Endpoint</th><th>Subnets</th><th>Carries now</th><th>Last heartbeat</th><th>Last handshake</th><th>Key</th><th></th></tr></thead><tbody>\(gateways)</tbody></table></section>
            <section id="traffic-section"><h2>Traffic <span class="muted">(last hour, bytes per second: rx blue, tx orange)</span></h2><div id="traffic" class="charts"></div></section>
            <section><h2>Tokens</h2><table id="tokens"><thead><tr><th>Name</th><th>Scope</th><th>Segment</th><th>Expires</th><th>Created by</th><th></th></tr></thead><tbody>\(tokens)</tbody></table>
            <form id="add-token"><input name="name" id="token-name" placeholder="name" required><select name="scope" id="token-scope"><option>enroll</option><option>ci</option><option>read-only</option><option>admin</option></select>
            <select name="segment" id="token-segment"><option value="">(no segment)</option>\(segmentOptions)</select><button type="submit">Create token</button></form>
            <div id="token-secret" hidden><p>The token's secret, shown once:</p><code id="secret"></code> <button type="button" id="copy-secret">Copy</button></div></section>
            <section><h2>Sessions</h2><table id="sessions"><thead><tr><th>Who</th><th>Role</th><th>Signed in with</th><th>Expires</th><th></th></tr></thead><tbody>\(sessions)</tbody></table></section>
            <section><h2>Audit log <span class="muted" id="live">live</span></h2>
            <form id="audit-filter" class="filters"><input id="audit-peer" placeholder="peer id"><input id="audit-actor" placeholder="actor (token:tok_…, person:…)">
            <input id="audit-action" placeholder="action (peer, token.delete…)"><label>from <input type="datetime-local" id="audit-since"></label>
            <label>to <input type="datetime-local" id="audit-until"></label><button type="submit">Filter</button> <button type="button" id="audit-clear">Clear</button></form>
            <table id="audit"><thead><tr><th>#</th><th>At</th><th>Actor</th><th>Action</th><th>Object</th></tr></thead><tbody>\(audit)</tbody></table></section>
            """)
    }
}

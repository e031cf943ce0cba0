import FerryCore

/// Names beside the ids of the audit log (`token:tok_rr6q… (alice-admin)`): from the
/// records themselves (the name in an object's before or after), then from what exists now
/// (peers, gateways, and tokens when the caller may list them). Deleted objects keep their
/// name through their own records.
public struct AuditNames: Sendable {
    var names: [String: String] = [:]

    public init(events: [AuditEventView], peers: [PeerView] = [], gateways: [GatewayView] = [], tokens: [TokenView] = []) {
        for p in peers { names[p.id] = p.name }
        for g in gateways { names[g.id] = g.name }
        for t in tokens { names[t.id] = t.name }
        for e in events {
            for case .object(let o)? in [e.before, e.after] {
                if case .string(let name)? = o["name"], names[e.objectID] == nil { names[e.objectID] = name }
            }
        }
    }

    public func name(of id: String) -> String? { names[id] }

    /// `token:tok_x (name)`, `system:reaper`.
    public func actor(_ actor: String) -> String {
        guard actor.hasPrefix("token:"), let n = names[String(actor.dropFirst(6))] else { return actor }
        return "\(actor) (\(n))"
    }

    /// `peer p_x (alice-laptop)`.
    public func object(_ type: String, _ id: String) -> String {
        names[id].map { "\(type) \(id) (\($0))" } ?? "\(type) \(id)"
    }

    public func peer(_ id: String?) -> String? {
        id.map { i in names[i].map { "\(i) (\($0))" } ?? i }
    }
}

import FerryCore
import Foundation

/// The policy change an admin proposes: one rule to add and/or rules to remove.
struct PolicyPreviewRequest: StrictDecodable {
    var add: CreatePolicyRuleRequest?
    var remove: [String]?
    enum CodingKeys: String, CodingKey, CaseIterable { case add, remove }
}

/// What a change would do, before it is applied: the access it adds and removes (segment
/// → destination and ports, as the compiler resolves rules to prefixes) and the peers whose
/// config or firewall rules change.
struct PolicyPreview: Codable, Sendable, Equatable {
    struct AffectedPeer: Codable, Sendable, Equatable {
        var id: String
        var name: String
        var segment: String
    }
    var added: [String]
    var removed: [String]
    var affected: [AffectedPeer]
}

enum PolicyDiff {
    /// Every grant of the topology's rules: "developers → 172.20.0.10/32 tcp/5432".
    static func grants(_ c: PolicyCompiler, names: [String: String]) -> Set<String> {
        var out = Set<String>()
        for rule in c.topology.rules {
            let ports = rule.ports.isEmpty ? "all" : rule.ports.map(\.description).joined(separator: " ")
            for p in c.routedTarget(rule) ?? [] { out.insert("\(names[rule.from] ?? rule.from) → \(p) \(ports)") }
        }
        return out
    }

    /// A peer's effect of policy: its WireGuard peers' allowed IPs and what its segment may open.
    static func footprint(_ c: PolicyCompiler, _ peer: Peer, grants: Set<String>, segment: String, now: Millis) -> [String] {
        c.entries(for: peer, at: now).map { "\($0.peerID) \($0.allowedIPs.map(\.description).joined(separator: ","))" }
            + grants.filter { $0.hasPrefix(segment + " → ") }.sorted()
    }

    static func preview(current: Topology, proposed: Topology, now: Millis) -> PolicyPreview {
        let before = PolicyCompiler(current), after = PolicyCompiler(proposed)
        let names = Dictionary(current.segments.map { ($0.id, $0.name) }, uniquingKeysWith: { a, _ in a })
        let g0 = grants(before, names: names), g1 = grants(after, names: names)
        var affected: [PolicyPreview.AffectedPeer] = []
        for peer in before.activePeers(at: now) where peer.kind != .gateway {
            let seg = names[peer.segmentID] ?? peer.segmentID
            if footprint(before, peer, grants: g0, segment: seg, now: now) != footprint(after, peer, grants: g1, segment: seg, now: now) {
                affected.append(.init(id: peer.id, name: peer.name, segment: seg))
            }
        }
        return PolicyPreview(added: g1.subtracting(g0).sorted(), removed: g0.subtracting(g1).sorted(), affected: affected)
    }
}

extension FerryStore {
    /// The preview of a rule change on the current topology; nothing is written. The rule
    /// to add is resolved as `createRule` resolves it (names to ids); `createRule` still
    /// validates it in full when the admin applies it.
    func policyPreview(_ req: PolicyPreviewRequest) async throws -> PolicyPreview {
        let current = try await topology()
        var proposed = current
        for id in req.remove ?? [] {
            guard proposed.rules.contains(where: { $0.id == id }) else { throw APIError.invalid("remove", "no policy rule \(id)") }
            proposed.rules.removeAll { $0.id == id }
        }
        if let add = req.add {
            let from = try Validate.name(add.from, field: "from")
            guard let src = current.segments.first(where: { $0.name == from }) else { throw APIError.invalid("from", "no segment named \(from)") }
            let target: PolicyTarget
            switch (add.toSegment, add.toSubnet, add.toGateway) {
            case (let s?, nil, nil):
                guard let dst = current.segments.first(where: { $0.name == s }) else { throw APIError.invalid("toSegment", "no segment named \(s)") }
                target = .segment(dst.id)
            case (nil, let s?, nil): target = .subnet(try Validate.prefix(s, field: "toSubnet"))
            case (nil, nil, let g?):
                guard let gw = current.peers.first(where: { $0.kind == .gateway && $0.name == g }) else { throw APIError.invalid("toGateway", "no gateway named \(g)") }
                target = .gateway(gw.id)
            default: throw APIError.invalid("toSegment", "give exactly one of toSegment, toSubnet and toGateway")
            }
            var ports: [PortSpec] = []
            for (i, text) in (add.ports ?? []).enumerated() {
                do { ports.append(try PortSpec(parsing: text)) } catch { throw APIError.invalid("ports[\(i)]", error.description) }
            }
            proposed.rules.append(PolicyRule(id: "proposed", from: src.id, to: target, ports: PortSpec.normalize(ports)))
        }
        return PolicyDiff.preview(current: current, proposed: proposed, now: clock.now())
    }
}

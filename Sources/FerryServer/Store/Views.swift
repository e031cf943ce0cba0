import FerryCore
import Foundation
import WireGuard

/// Turning stored records into API views.
enum Views {
    static func date(_ ms: Millis) -> Date { Date(timeIntervalSince1970: Double(ms) / 1000) }

    static func network(_ n: NetworkSettings) -> NetworkView {
        NetworkView(name: n.name, ipv4: n.ipv4.description, ipv6: n.ipv6?.description, dns: n.dns.map(\.description),
                    mtu: n.mtu, keepalive: n.keepalive, dnsZone: n.zone.key, dnsUpstreams: n.dnsUpstreams.map(\.description))
    }

    static func segment(_ s: Segment, plan: AddressPlan, peers: Int) -> SegmentView {
        SegmentView(id: s.id, name: s.name, ipv4: s.ipv4.description, ipv6: plan.ipv6(for: s.ipv4)?.description, peers: peers)
    }

    static func rule(_ r: PolicyRule, segments: [String: Segment], gateways: [String: String] = [:]) -> PolicyRuleView {
        var view = PolicyRuleView(id: r.id, from: segments[r.from]?.name ?? r.from, ports: r.ports.map(\.description))
        switch r.to {
        case .segment(let id): view.toSegment = segments[id]?.name ?? id
        case .subnet(let p): view.toSubnet = p.description
        case .gateway(let id): view.toGateway = gateways[id] ?? id
        }
        return view
    }

    static func peer(_ r: PeerRecord, segments: [String: Segment], plan: AddressPlan) -> PeerView {
        let p = r.peer
        return PeerView(
            id: p.id, name: p.name, kind: p.kind.rawValue, owner: p.owner, segment: segments[p.segmentID]?.name ?? p.segmentID,
            ipv4: p.ipv4.description, ipv6: plan.ipv6(for: p.ipv4)?.description, publicKey: p.publicKey.base64,
            tunnel: p.tunnel.rawValue, dns: p.dns?.map(\.description), mtu: p.mtu, keepalive: p.keepalive, mesh: p.mesh,
            enabled: p.enabled, ephemeral: p.isEphemeral, allowedIPs: p.restrictTo?.map(\.description),
            expiresAt: p.expiresAt.map(date), createdAt: date(p.createdAt), updatedAt: date(p.updatedAt), createdBy: p.createdBy,
            endpoint: p.reportedEndpoint?.description, seenEndpoint: p.seenEndpoint?.description, rxBytes: r.rxBytes,
            txBytes: r.txBytes, latestHandshake: r.latestHandshake.flatMap { s in
                let ms = s.multipliedReportingOverflow(by: 1000)
                return s > 0 && !ms.overflow ? date(ms.partialValue) : nil
            })
    }

    static func gateway(_ r: PeerRecord, _ g: Gateway, segments: [String: Segment], plan: AddressPlan) -> GatewayView {
        let p = r.peer
        return GatewayView(
            id: p.id, name: p.name, segment: segments[p.segmentID]?.name ?? p.segmentID, ipv4: p.ipv4.description,
            ipv6: plan.ipv6(for: p.ipv4)?.description, publicKey: p.publicKey.base64, endpoint: g.endpoint.description,
            listenPort: Int(g.listenPort), subnets: g.subnets.map(\.description), masquerade: g.masquerade, enabled: p.enabled,
            local: r.gatewayLocal, keyRotatedAt: r.keyRotatedAt.map(date), createdAt: date(p.createdAt),
            priority: g.priority, status: r.lastHeartbeat == nil ? "unknown" : g.up ? "up" : "down",
            lastHeartbeatAt: r.lastHeartbeat.map(date))
    }
}

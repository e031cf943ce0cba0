import FerryCore
import Foundation
import Prometheus
import Synchronization

/// ferryd's Prometheus metrics, one registry per application (so tests can build many).
public final class FerryMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    let ephemeralCreated: Counter
    let ephemeralExpired: Counter
    let ephemeralDeleted: Counter
    let reaperRuns: Counter
    let gatewaySyncs: Counter
    let gatewaySyncErrors: Counter
    let topologyReloads: Counter
    let topologyPatches: Counter
    let gatewayFirewallFailures: Counter
    let gatewayFirewallRepairs: Counter
    /// Per-peer counters of the local gateway interface, rendered in the names of the
    /// common WireGuard exporters.
    private let interfaceStatus = Mutex<(String, [InterfacePeerStatus], [String: String])>(("", [], [:]))

    static let latencyBuckets: [Duration] = [.milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10),
                                             .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250),
                                             .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5), .seconds(10), .seconds(30)]

    public init() {
        registry = PrometheusCollectorRegistry()
        ephemeralCreated = registry.makeCounter(name: "ferry_ephemeral_peers_created_total", help: "Ephemeral peers created")
        ephemeralExpired = registry.makeCounter(name: "ferry_ephemeral_peers_expired_total", help: "Ephemeral peers removed by the reaper")
        ephemeralDeleted = registry.makeCounter(name: "ferry_ephemeral_peers_deleted_total", help: "Ephemeral peers deleted before their TTL")
        reaperRuns = registry.makeCounter(name: "ferry_reaper_runs_total", help: "Reaper passes")
        gatewaySyncs = registry.makeCounter(name: "ferry_gateway_syncs_total", help: "Changes applied to the local gateway")
        gatewaySyncErrors = registry.makeCounter(name: "ferry_gateway_sync_errors_total", help: "Failed gateway applies")
        topologyReloads = registry.makeCounter(name: "ferry_topology_reloads_total", help: "Full topology loads from the store")
        topologyPatches = registry.makeCounter(name: "ferry_topology_patches_total", help: "Topology updates that read only the changed peers")
        gatewayFirewallFailures = registry.makeCounter(name: "ferry_gateway_firewall_failures_total",
                                                       help: "Passes where the gateway firewall could not be loaded (no peers served)")
        gatewayFirewallRepairs = registry.makeCounter(name: "ferry_gateway_firewall_repairs_total",
                                                      help: "Gateway firewall tables restored after an outside change")
    }

    /// One request: counted by route, method and status; timed by route and method.
    func request(route: String, method: String, status: Int, duration: Duration) {
        registry.makeCounter(name: "ferry_http_requests_total", labels: [("route", route), ("method", method), ("status", String(status))],
                             help: "API requests").increment()
        registry.makeDurationHistogram(name: "ferry_http_request_duration_seconds", labels: [("route", route), ("method", method)],
                                       buckets: Self.latencyBuckets, help: "API request latency").record(duration)
    }

    func setPeerCounts(_ counts: [String: Int]) {
        for kind in PeerKind.allCases {
            for state in ["enabled", "disabled", "expired"] {
                registry.makeGauge(name: "ferry_peers", labels: [("kind", kind.rawValue), ("state", state)], help: "Peers by kind and state")
                    .set(Double(counts["\(kind.rawValue)|\(state)"] ?? 0))
            }
        }
    }

    /// Connections and long polls now (set when /metrics is read).
    func setConnections(_ c: ConnectionRegistry.Counts, longPolls: Int) {
        for phase in [ConnectionRegistry.Phase.idle, .headers, .body, .handling] {
            registry.makeGauge(name: "ferry_http_connections", labels: [("phase", phase.rawValue)], help: "Open HTTP connections by phase")
                .set(Double(c.byPhase[phase] ?? 0))
        }
        for (reason, n) in [("evicted", c.evicted), ("refused", c.refused), ("timeout", c.timedOut)] {
            registry.makeGauge(name: "ferry_http_connections_closed", labels: [("reason", reason)],
                               help: "Connections ferryd closed: evicted at the cap, refused at the cap, timed out").set(Double(n))
        }
        registry.makeGauge(name: "ferry_long_polls", help: "Long polls waiting").set(Double(longPolls))
    }

    func setInterfaceStatus(interface: String, peers: [InterfacePeerStatus], names: [String: String]) {
        interfaceStatus.withLock { $0 = (interface, peers, names) }
    }

    /// The whole exposition: the registry, then the interface's peers.
    public func render() -> String {
        var out = registry.emitToString()
        let (iface, peers, names) = interfaceStatus.withLock { $0 }
        guard !peers.isEmpty else { return out }
        func labels(_ p: InterfacePeerStatus) -> String {
            let allowed = p.allowedIPs.map(\.description).joined(separator: ",")
            let name = names[p.publicKey.base64] ?? ""
            return "interface=\"\(iface)\",public_key=\"\(p.publicKey.base64)\",allowed_ips=\"\(allowed)\",friendly_name=\"\(name)\""
        }
        out += "# HELP wireguard_sent_bytes_total Bytes sent to the peer\n# TYPE wireguard_sent_bytes_total counter\n"
        for p in peers { out += "wireguard_sent_bytes_total{\(labels(p))} \(p.txBytes)\n" }
        out += "# HELP wireguard_received_bytes_total Bytes received from the peer\n# TYPE wireguard_received_bytes_total counter\n"
        for p in peers { out += "wireguard_received_bytes_total{\(labels(p))} \(p.rxBytes)\n" }
        out += "# HELP wireguard_latest_handshake_seconds Unix time of the latest handshake\n# TYPE wireguard_latest_handshake_seconds gauge\n"
        for p in peers { out += "wireguard_latest_handshake_seconds{\(labels(p))} \(p.latestHandshake)\n" }
        return out
    }
}

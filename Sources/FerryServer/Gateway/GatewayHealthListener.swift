import FerryCore
import Foundation
import Hummingbird
import HummingbirdCore
import Logging

/// The local HTTP listener of `ferryd gateway --health-listen HOST:PORT`, for probes and
/// Prometheus: plain HTTP, no token, two read-only routes.
///
/// - `GET /health`: 200 `{"status":"ok",...}` when the gateway is converged with its
///   firewall loaded and a coordinator answered recently; else 503
///   `{"status":"degraded","problems":[...]}`, the shape of ferryd's own /health.
/// - `GET /metrics`: the gateway series of `FerryMetrics` (firewall, syncs, and per-peer
///   counters that carry public keys and allowed IPs) and the remote gateway's own
///   (`RemoteGatewayStatus.renderMetrics`).
///
/// No token because probes carry none: keep it on loopback, or on a pod address that a
/// NetworkPolicy shields, never on the public address.
public enum GatewayHealthListener {
    /// Open connections at most; past it the oldest idle one makes room.
    static let maxConnections = 32

    public static func application(listen: HostPort, status: RemoteGatewayStatus, metrics: FerryMetrics, logger: Logger,
                                   onListening: @escaping @Sendable () async -> Void = {}) -> some ApplicationProtocol {
        let router = Router()
        router.get("/health") { _, _ -> Response in
            let problems = status.problems()
            guard problems.isEmpty else {
                return try HTTP.json(HealthView(status: "degraded", version: ferryVersion, problems: problems), status: .serviceUnavailable)
            }
            return try HTTP.json(HealthView(status: "ok", version: ferryVersion))
        }
        router.get("/metrics") { _, _ -> Response in
            HTTP.text(gatewaySeries(metrics.render()) + status.renderMetrics(), type: "text/plain; version=0.0.4")
        }
        // The same guard as ferryd's API (a connection cap, idle, header and body
        // timeouts): probes and scrapers need a handful of connections, and a peer of the
        // pod network that opens thousands must not take the gateway's file descriptors.
        var limits = ServerLimits()
        limits.idleTimeout = .seconds(10)
        let connections = ConnectionRegistry(limits: limits, maxConnections: maxConnections, logger: logger)
        return Application(router: router, server: HTTPServerBuilder.guarded(connections, tls: nil),
                           configuration: .init(address: .hostname(listen.host, port: Int(listen.port)), serverName: "ferryd-gateway"),
                           services: [ConnectionSweeper(connections: connections)],
                           onServerRunning: { _ in await onListening() }, logger: logger)
    }

    /// The series of ferryd's registry that a gateway host fills (`ferry_gateway_*`, the
    /// per-peer `wireguard_*`), without the coordinator's, which would always read 0 here.
    static func gatewaySeries(_ exposition: String) -> String {
        let kept = exposition.split(separator: "\n").filter { line in
            // "# HELP NAME …", "# TYPE NAME …", or "NAME{labels} value" / "NAME value".
            let name = line.hasPrefix("# ") ? line.split(separator: " ", maxSplits: 3).dropFirst(2).first ?? "" : line.prefix { $0 != "{" && $0 != " " }
            return name.hasPrefix("ferry_gateway_") || name.hasPrefix("wireguard_")
        }
        return kept.isEmpty ? "" : kept.joined(separator: "\n") + "\n"
    }
}

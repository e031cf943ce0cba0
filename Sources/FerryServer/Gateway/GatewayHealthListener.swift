import FerryCore
import Foundation
import Hummingbird
import Logging

/// The local HTTP listener of `ferryd gateway --health-listen HOST:PORT`, for probes and
/// Prometheus: plain HTTP, no token, two read-only routes.
///
/// - `GET /health`: 200 `{"status":"ok",...}` when the gateway is converged with its
///   firewall loaded and a coordinator answered recently; else 503
///   `{"status":"degraded","problems":[...]}`, the shape of ferryd's own /health.
/// - `GET /metrics`: the firewall and interface series of `FerryMetrics` (per-peer counters
///   carry public keys and allowed IPs) and the remote gateway's own
///   (`RemoteGatewayStatus.renderMetrics`).
///
/// No token because probes carry none: keep it on loopback, or on a pod address that a
/// NetworkPolicy shields, never on the public address.
public enum GatewayHealthListener {
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
            HTTP.text(metrics.render() + status.renderMetrics(), type: "text/plain; version=0.0.4")
        }
        return Application(router: router, configuration: .init(address: .hostname(listen.host, port: Int(listen.port)), serverName: "ferryd-gateway"),
                           onServerRunning: { _ in await onListening() }, logger: logger)
    }
}

import FerryCore
import Foundation
import Synchronization

/// What a remote gateway (`ferryd gateway`) knows about itself, for its local /health and
/// /metrics (`GatewayHealthListener`): the newest map it got and the one it applied, the
/// last pass's problem, the firewall's verdict, and when it last reached a coordinator.
///
/// Healthy means: the newest map is applied (no pass failing, not lagging), the firewall
/// is loaded, and a coordinator answered recently. Each failing condition is one problem.
public final class RemoteGatewayStatus: Sendable {
    /// The converger's firewall verdict (nil when loaded), shared with `GatewayConverger`.
    public let firewall: GatewayHealth
    /// How long without any answer from a coordinator (map or heartbeat; heartbeats go
    /// every second) before /health calls it a problem.
    public let contactMaxAge: Duration
    /// How long a received map may wait to be applied before it counts as not converged
    /// (a pass runs at least every second; a short lag right after a change is normal).
    public let convergeGrace: Duration

    struct State {
        var received: Int64?
        var receivedAt: ContinuousClock.Instant?
        var applied: Int64?
        /// What the applied map itself asks that serves nobody (disabled, another key).
        var mapProblem: String?
        /// Why the last pass failed; nil after a pass that succeeded.
        var failure: String?
        var lastContact: ContinuousClock.Instant?
        var coordinator: String?
        /// Why the last request to a coordinator failed, when it did after the last answer.
        var contactError: String?
        var converges = 0
        var convergeFailures = 0
    }
    let state = Mutex(State())

    public init(firewall: GatewayHealth = GatewayHealth(), contactMaxAge: Duration = .seconds(10), convergeGrace: Duration = .seconds(3)) {
        self.firewall = firewall
        self.contactMaxAge = contactMaxAge
        self.convergeGrace = convergeGrace
    }

    /// A coordinator answered (a map, an unchanged long poll, or a heartbeat).
    func contact(_ coordinator: String?, at now: ContinuousClock.Instant = .now) {
        state.withLock { $0.lastContact = now; $0.coordinator = coordinator ?? $0.coordinator; $0.contactError = nil }
    }

    /// A request to the coordinators failed (unreachable, refused, token revoked…).
    func contactFailed(_ error: any Error) {
        state.withLock { $0.contactError = "\(error)" }
    }

    /// A map with a new version arrived.
    func received(_ version: Int64, at now: ContinuousClock.Instant = .now) {
        state.withLock {
            if $0.received != version { $0.received = version; $0.receivedAt = now }
        }
    }

    /// A pass applied `version`; `problem` is what the map itself asks that serves nobody
    /// (disabled, another key), nil when the gateway serves its peers.
    func converged(_ version: Int64, problem: String?) {
        state.withLock { $0.applied = version; $0.mapProblem = problem; $0.failure = nil; $0.converges += 1 }
    }

    /// A pass failed (interface, firewall or status).
    func failed(_ problem: String) {
        state.withLock { $0.failure = problem; $0.convergeFailures += 1 }
    }

    /// Everything that keeps this gateway from being healthy now; empty when healthy.
    public func problems(now: ContinuousClock.Instant = .now) -> [String] {
        let s = state.withLock { $0 }
        var out: [String] = []
        if let received = s.received {
            if s.applied != received, let at = s.receivedAt, now - at > convergeGrace {
                out.append("not converged: map version \(received) received \(Self.text(now - at)) ago, "
                           + (s.applied.map { "version \($0) applied" } ?? "none applied yet"))
            }
        } else {
            out.append("no network map from the coordinator yet")
        }
        // A firewall that cannot be loaded fails the pass too: say it once, in the
        // converger's words (it names the interface and that no peer is served).
        if let f = firewall.problem { out.append(f) } else if let f = s.failure { out.append(f) }
        if let p = s.mapProblem { out.append(p) }
        let why = s.contactError.map { "; last error: \($0)" } ?? ""
        if let last = s.lastContact {
            if now - last > contactMaxAge {
                out.append("no answer from a coordinator for \(Self.text(now - last))"
                           + (s.coordinator.map { " (last: \($0))" } ?? "") + why)
            }
        } else {
            out.append("no answer from a coordinator yet" + why)
        }
        return out
    }

    /// The remote gateway's own series, in Prometheus text format (appended to
    /// `FerryMetrics.render()`, which holds the firewall and interface series).
    public func renderMetrics(now: ContinuousClock.Instant = .now) -> String {
        let s = state.withLock { $0 }
        let healthy = problems(now: now).isEmpty
        var out = ""
        func metric(_ name: String, _ type: String, _ help: String, _ lines: [String]) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
            for l in lines { out += "\(name)\(l)\n" }
        }
        metric("ferry_gateway_healthy", "gauge", "1 when /health answers 200 (converged, firewall loaded, coordinator reached recently)",
               [" \(healthy ? 1 : 0)"])
        metric("ferry_gateway_converges_total", "counter", "Passes that made the interface and firewall equal to the map", [" \(s.converges)"])
        metric("ferry_gateway_converge_failures_total", "counter", "Passes that failed (interface, firewall or status)",
               [" \(s.convergeFailures)"])
        metric("ferry_gateway_map_version", "gauge", "Version of the newest network map received", [" \(s.received ?? -1)"])
        metric("ferry_gateway_applied_map_version", "gauge", "Version of the network map last applied", [" \(s.applied ?? -1)"])
        let age = s.lastContact.map { Self.number(now - $0) } ?? "+Inf"
        metric("ferry_gateway_coordinator_contact_age_seconds", "gauge", "Seconds since a coordinator last answered (+Inf: never)", [" \(age)"])
        metric("ferry_gateway_coordinator_active", "gauge", "The coordinator this gateway talks to now",
               s.coordinator.map { ["{url=\"\(Self.escapeLabel($0))\"} 1"] } ?? [])
        return out
    }

    static func seconds(_ d: Duration) -> Double {
        let (s, atto) = d.components
        return Double(s) + Double(atto) / 1e18
    }
    /// "12.3 s", for problems.
    static func text(_ d: Duration) -> String { String(format: "%.1f s", seconds(d)) }
    /// "12.345", for metrics.
    static func number(_ d: Duration) -> String { String(format: "%.3f", seconds(d)) }

    /// Prometheus label values escape backslash, quote and newline.
    static func escapeLabel(_ s: String) -> String {
        s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\n", with: "\\n")
    }
}

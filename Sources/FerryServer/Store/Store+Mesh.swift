import FerryCore
import Foundation

/// One agent's count of its mesh links by path, as it last reported it.
struct MeshLinkCount: Sendable {
    var direct: Int
    var relayed: Int
    var at: ContinuousClock.Instant
}

extension FerryStore {
    /// How long a report's link counts stay in the totals: an agent reports every 30 s by
    /// default, so one that has not for this long is gone or cut off.
    static let meshCountLifetime: Duration = .seconds(300)

    /// Mesh link ends by path over the agents that reported recently. Each link is counted
    /// by both of its ends (each agent says what it sees; they agree once converged).
    public func meshLinkTotals() -> (direct: Int, relayed: Int) {
        let now = ContinuousClock.now
        return meshLinks.withLock { counts in
            counts = counts.filter { now - $0.value.at < Self.meshCountLifetime }
            return counts.values.reduce((0, 0)) { ($0.0 + $1.direct, $0.1 + $1.relayed) }
        }
    }
}

extension FerryMetrics {
    /// Mesh link ends by path (set when /metrics is read).
    func setMeshLinks(_ totals: (direct: Int, relayed: Int)) {
        for (path, n) in [("direct", totals.direct), ("relayed", totals.relayed)] {
            registry.makeGauge(name: "ferry_mesh_links", labels: [("path", path)],
                               help: "Mesh link ends by path, as the agents last reported them (each link counted at both ends)")
                .set(Double(n))
        }
    }
}

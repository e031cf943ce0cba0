import FerryCore
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// One point of a peer's (or gateway's) traffic: its rx/tx counters at `at`, as the last
/// report (or gateway status) gave them.
public struct TrafficSample: Codable, Sendable, Equatable {
    public var at: Date
    public var rxBytes: Int64
    public var txBytes: Int64
}

/// A peer's or gateway's samples, oldest first (GET /portal/api/traffic).
public struct TrafficSeries: Codable, Sendable, Equatable {
    public var id: String
    public var name: String
    public var kind: String
    public var samples: [TrafficSample]
}

/// The portal's traffic charts: an in-memory history of every peer's rx/tx counters, kept
/// for `window` and at most `maxSamples` points per peer, for peers that still exist.
/// Memory is bounded by peers × maxSamples; nothing is stored in the database, so a restart
/// (or another replica) starts with an empty chart: the charts are a view, not a record.
public final class TrafficHistory: Sendable {
    public let window: TimeInterval
    public let maxSamples: Int
    /// Closer samples than this are not kept (a burst of reports makes one point).
    public let minSpacing: TimeInterval
    private let state = Mutex<[String: TrafficSeries]>([:])
    private let lastRecorded = Mutex<(at: Date, revision: UInt64?)?>(nil)

    public init(window: TimeInterval = 3600, maxSamples: Int = 360, minSpacing: TimeInterval = 5) {
        self.window = window
        self.maxSamples = max(1, maxSamples)
        self.minSpacing = minSpacing
    }

    /// True when a new sample is worth a store read: the last is `minSpacing` old, or the
    /// network changed since (the change feed's `revision`: a peer added or removed). The
    /// portal's endpoint samples only then, so polling it costs no store read per call.
    public func due(now: Date, revision: UInt64? = nil) -> Bool {
        lastRecorded.withLock { last in
            guard let last else { return true }
            return now.timeIntervalSince(last.at) >= minSpacing || (revision != nil && revision != last.revision)
        }
    }

    /// Records every peer's counters at `now`; peers absent from `peers` are forgotten.
    /// `revision`: the change feed's revision the peers were read at (see `due`).
    public func record(_ peers: [PeerView], now: Date, revision: UInt64? = nil) {
        lastRecorded.withLock { $0 = (now, revision) }
        state.withLock { all in
            var next: [String: TrafficSeries] = [:]
            next.reserveCapacity(peers.count)
            for p in peers {
                var s = all[p.id] ?? TrafficSeries(id: p.id, name: p.name, kind: p.kind, samples: [])
                s.name = p.name
                let point = TrafficSample(at: now, rxBytes: p.rxBytes ?? 0, txBytes: p.txBytes ?? 0)
                if let last = s.samples.last, now.timeIntervalSince(last.at) < minSpacing {
                    // Too close to the previous point: that point takes the newer counters.
                    s.samples[s.samples.count - 1] = TrafficSample(at: last.at, rxBytes: point.rxBytes, txBytes: point.txBytes)
                } else {
                    s.samples.append(point)
                }
                let cutoff = now.addingTimeInterval(-window)
                if let firstKept = s.samples.firstIndex(where: { $0.at >= cutoff }), firstKept > 0 { s.samples.removeFirst(firstKept) }
                if s.samples.count > maxSamples { s.samples.removeFirst(s.samples.count - maxSamples) }
                next[p.id] = s
            }
            all = next
        }
    }

    /// The series of the given peers (every peer when nil), by name.
    public func series(only ids: Set<String>?) -> [TrafficSeries] {
        state.withLock { all in
            all.values.filter { ids?.contains($0.id) ?? true }.sorted { ($0.name, $0.id) < ($1.name, $1.id) }
        }
    }
}

/// Samples every peer's counters into the traffic history every `periodMs` (agents' reports
/// and the gateway's status update the counters in the store in between).
struct TrafficSampler: Service {
    let store: FerryStore
    let history: TrafficHistory
    let clock: any FerryClock
    let periodMs: Int64
    let logger: Logger

    func run() async throws {
        try await runPeriodically(clock: clock, periodMs: periodMs, logger: logger, what: "traffic sample") {
            let revision = store.changes.revision
            try await history.record(store.peers(caller: .system("traffic")), now: Date(), revision: revision)
        }
    }
}

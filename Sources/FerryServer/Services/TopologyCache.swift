import FerryCore
import Synchronization

/// The compiled topology and the change-feed revision it was read at, brought up to date
/// once per revision however many callers want it at the same time (single flight): when
/// a change wakes a thousand long polls, one of them updates the topology and the others
/// wait for that update instead of each reading the store.
///
/// An update is incremental: it reads the topology change log (Store/Migrations+TopologyChanges.swift)
/// after the seq the cached compiler is current at, and when only peers changed it reads
/// those peers' rows and patches the compiler (PolicyCompiler+Patch.swift). It loads
/// everything when the network, a segment or a rule changed, when the log cannot say what
/// changed (pruned past the seq, too many changes), when nothing is cached, and at least
/// every `fullLoadInterval` (a bound on how long any mistake in patching could last).
/// The log is in the database, so changes made on other replicas are patched in the same
/// way, whatever woke this one (a NOTIFY, the periodic check).
final class TopologyCache: Sendable {
    /// The compiler and the change log's seq it is current at.
    struct Compiled: Sendable {
        let compiler: PolicyCompiler
        let seq: Int64
        /// When its topology was last loaded in full.
        let loadedAt: ContinuousClock.Instant
    }

    static let fullLoadInterval: Duration = .seconds(300)

    private struct State {
        var current: (revision: UInt64, compiled: Compiled)?
        var loading: (revision: UInt64, task: Task<Compiled, any Error>)?
        /// Set by `invalidate`: the next update loads everything.
        var invalid = false
    }

    private let state = Mutex(State())
    private let loads = Atomic<Int>(0)
    private let fullLoadCount = Atomic<Int>(0)

    /// How many times the topology was brought up to date, in full or by a patch (tests and /metrics).
    var reloads: Int { loads.load(ordering: .relaxed) }
    /// How many of those read the whole topology.
    var fullLoads: Int { fullLoadCount.load(ordering: .relaxed) }

    /// The next update loads everything (benchmarks measure the full load with this).
    func invalidate() {
        state.withLock { $0.invalid = true }
    }

    /// The compiled topology at `revision`: the cached one, the update under way for it, or
    /// a new update, which `load` makes from the cached compiler (nil: load everything).
    /// The revision must be read before the update starts (see `FerryStore.compiledTopology`).
    func compiled(at revision: UInt64, load: @escaping @Sendable (Compiled?) async throws -> Compiled) async throws -> Compiled {
        enum Step { case ready(Compiled), join(Task<Compiled, any Error>) }
        let step = state.withLock { s -> Step in
            if let c = s.current, c.revision == revision, !s.invalid { return .ready(c.compiled) }
            if let l = s.loading, l.revision == revision, !s.invalid { return .join(l.task) }
            let base = s.invalid ? nil : s.current?.compiled
            s.invalid = false
            let task = Task { () async throws -> Compiled in
                self.loads.add(1, ordering: .relaxed)
                let c = try await load(base)
                if c.loadedAt != base?.loadedAt { self.fullLoadCount.add(1, ordering: .relaxed) }
                return c
            }
            s.loading = (revision, task)
            return .join(task)
        }
        switch step {
        case .ready(let c): return c
        case .join(let task):
            // An update is shared, so one waiter's cancellation must not cancel it.
            // A failed update is forgotten, so the next caller tries again.
            let result = await task.result
            let replaced = state.withLock { s -> Compiled? in
                if s.loading?.revision == revision { s.loading = nil }
                guard case .success(let c) = result, s.current.map({ $0.revision <= revision }) ?? true else { return nil }
                defer { s.current = (revision, c) }
                return s.current?.compiled
            }
            // Freeing a topology of 10,000 peers takes about as long as patching one: it
            // is done off the request's path (and outside the lock).
            if let replaced { Task.detached(priority: .background) { withExtendedLifetime(replaced) {} } }
            return try result.get()
        }
    }
}

extension FerryStore {
    /// The topology as `base` plus what changed since (see `TopologyCache`), or loaded in full.
    /// Each is read in one transaction, so the result is the store as of one commit.
    func updatedTopology(from base: TopologyCache.Compiled?) async throws -> TopologyCache.Compiled {
        if let base, ContinuousClock.now - base.loadedAt < TopologyCache.fullLoadInterval {
            switch try await engine.readTopology({ db in try FerryStore.topologyDelta(db, after: base.seq) }) {
            case .unchanged:
                return base
            case .peers(let seq, let ids, let current):
                metrics.topologyPatches.increment()
                return .init(compiler: base.compiler.patched(ids: ids, current: current), seq: seq, loadedAt: base.loadedAt)
            case .everything:
                break
            }
        }
        metrics.topologyReloads.increment()
        let start = ContinuousClock.now
        let (seq, topology) = try await engine.readTopology { db in (try db.topologySeq(), try FerryStore.topology(db)) }
        return .init(compiler: PolicyCompiler(topology), seq: seq, loadedAt: start)
    }
}

/// What changed in the topology since a seq of the log.
enum TopologyDelta: Sendable {
    /// Nothing the compiler reads.
    case unchanged
    /// Only these peers (their rows are in `current`; an id without a row was removed).
    case peers(seq: Int64, ids: Set<String>, current: [PolicyCompiler.PeerChange])
    /// The network, a segment or a rule changed, or the log cannot say (pruned past the
    /// seq, or too many changes to be worth patching): load everything.
    case everything
}

extension FerryStore {
    /// More changed peers than this since the cached topology: load everything instead.
    static let patchLimit = 500
    /// Log rows read at most (a peer changed twice is two rows, one peer to patch).
    static let logReadLimit = 5_000

    /// What changed after `seq`, with the changed peers' rows read in the same transaction.
    static func topologyDelta(_ db: any TopologyChangeRepository, after seq: Int64) throws -> TopologyDelta {
        let rows = try db.topologyChanges(after: seq, limit: logReadLimit + 1)
        guard !rows.isEmpty else {
            // Nothing after seq. A log that ends before seq was rebuilt (a restored
            // backup): the cache's seq means nothing there.
            return try db.topologySeq() == seq ? .unchanged : .everything
        }
        var ids = Set<String>(), last = seq
        for row in rows {
            // Gap-free or nothing: a gap is a pruned log.
            guard row.seq == last &+ 1, row.kind == "peer" else { return .everything }
            ids.insert(row.objectID)
            last = row.seq
        }
        guard rows.count <= logReadLimit, ids.count <= patchLimit else { return .everything }
        let records = try db.peers(ids: Array(ids))
        return .peers(seq: last, ids: ids, current: records.map { .init(peer: $0.peer, gateway: $0.gateway) })
    }
}

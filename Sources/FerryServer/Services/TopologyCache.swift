import FerryCore
import Synchronization

/// The compiled topology and the change-feed revision it was read at, reloaded once per
/// revision however many callers want it at the same time (single flight): when a change
/// wakes a thousand long polls, one of them loads the topology and the others wait for
/// that load instead of each reading every peer from SQLite.
final class TopologyCache: Sendable {
    /// The compiler and its peers by ID (a long poll finds its peer without a scan).
    struct Compiled: Sendable {
        let compiler: PolicyCompiler
        let peersByID: [String: Peer]

        init(_ compiler: PolicyCompiler) {
            self.compiler = compiler
            peersByID = Dictionary(compiler.topology.peers.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        }
    }

    private struct State {
        var current: (revision: UInt64, compiled: Compiled)?
        var loading: (revision: UInt64, task: Task<Compiled, any Error>)?
    }

    private let state = Mutex(State())
    private let loads = Atomic<Int>(0)

    /// How many times the topology was read from the store (tests and /metrics).
    var reloads: Int { loads.load(ordering: .relaxed) }

    /// The compiled topology at `revision`: the cached one, the load under way for it, or a new load.
    /// The revision must be read before the load starts (see `FerryStore.compiler`).
    func compiled(at revision: UInt64, load: @escaping @Sendable () async throws -> PolicyCompiler) async throws -> Compiled {
        enum Step { case ready(Compiled), join(Task<Compiled, any Error>) }
        let step = state.withLock { s -> Step in
            if let c = s.current, c.revision == revision { return .ready(c.compiled) }
            if let l = s.loading, l.revision == revision { return .join(l.task) }
            let task = Task { () async throws -> Compiled in
                self.loads.add(1, ordering: .relaxed)
                return Compiled(try await load())
            }
            s.loading = (revision, task)
            return .join(task)
        }
        switch step {
        case .ready(let c): return c
        case .join(let task):
            // A load is shared, so one waiter's cancellation must not cancel it.
            // A failed load is forgotten, so the next caller tries again.
            let result = await task.result
            state.withLock { s in
                if s.loading?.revision == revision { s.loading = nil }
                if case .success(let c) = result, s.current.map({ $0.revision <= revision }) ?? true { s.current = (revision, c) }
            }
            return try result.get()
        }
    }
}

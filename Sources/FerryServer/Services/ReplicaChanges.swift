import ServiceLifecycle

/// Wakes this replica's change feed (long polls, the gateway sync, the compiled topology)
/// when another replica commits a change: the engine's `watchChanges` (PostgreSQL's
/// LISTEN, with a periodic check as a safety net; nothing on SQLite), until shutdown.
public struct ReplicaChanges: Service {
    let engine: any SQLEngine
    let changes: ChangeFeed

    public init(engine: any SQLEngine, changes: ChangeFeed) {
        self.engine = engine
        self.changes = changes
    }

    public func run() async throws {
        let changes = changes
        try? await cancelWhenGracefulShutdown {
            await engine.watchChanges { changes.notify() }
        }
        // SQLite's watcher returns at once; a service that returns would stop the group.
        try? await gracefulShutdown()
    }
}

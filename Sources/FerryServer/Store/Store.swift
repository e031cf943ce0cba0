import FerryCore
import Foundation
import GRDB
import Logging
import Synchronization
import WireGuard

/// One audit record, written in the same transaction as the change it describes.
struct AuditEntry: Sendable {
    var action: String
    var objectType: String
    var objectID: String
    var peerID: String?
    var before: String?
    var after: String?
}

/// A peer as stored, with what the gateway and the agent last observed.
struct PeerRecord: Sendable {
    var peer: Peer
    var rxBytes: Int64?
    var txBytes: Int64?
    var latestHandshake: Int64?
    var gateway: Gateway?
    var gatewayLocal: Bool
    var keyRotatedAt: Millis?
    /// Gateways: the last heartbeat (nil: never), Store+Failover.swift.
    var lastHeartbeat: Millis? = nil
}

/// The service layer (`FerryService`, which the routes use): validation, authorization,
/// allocation, audit, metrics, change notification and long polling. It holds no SQL: it
/// reaches the data through the repository (`StoreRepository`, one per transaction, from
/// `read` and `write`), which runs on one SQL engine (`SQLEngine`: SQLite through GRDB, or
/// PostgreSQL through postgres-nio). Every change goes through `write`, which appends its
/// audit records in the same transaction, mirrors them to the log after the commit and
/// wakes the change feed (and, on PostgreSQL, every other replica's).
public final class CoordinatorService: Sendable {
    public let engine: any SQLEngine
    let clock: any FerryClock
    public let changes: ChangeFeed
    let logger: Logger
    let localGateway: LocalGatewayKeys?
    let metrics: FerryMetrics
    /// The compiled topology and the change-feed revision it was read at.
    let compiled = TopologyCache()
    /// The local gateway interface's peers as last read, by public key (base64).
    let observed = Mutex<[String: InterfacePeerStatus]>([:])
    /// Each agent's last count of its direct and relayed mesh links, by peer id (Store+Mesh).
    let meshLinks = Mutex<[String: MeshLinkCount]>([:])
    /// The DNS server's index of the zone and the revision it was built at (Store+DNS).
    let zoneCache = Mutex<(revision: UInt64, index: ZoneIndex)?>(nil)

    public init(engine: any SQLEngine, clock: any FerryClock, changes: ChangeFeed = ChangeFeed(),
                localGateway: LocalGatewayKeys? = nil, metrics: FerryMetrics = FerryMetrics(), logger: Logger) {
        self.engine = engine
        self.clock = clock
        self.changes = changes
        self.localGateway = localGateway
        self.metrics = metrics
        self.logger = logger
    }

    /// A store on a SQLite database (tests, benchmarks).
    public convenience init(db: any DatabaseWriter, clock: any FerryClock, changes: ChangeFeed = ChangeFeed(),
                            localGateway: LocalGatewayKeys? = nil, metrics: FerryMetrics = FerryMetrics(), logger: Logger) {
        self.init(engine: GRDBEngine(db), clock: clock, changes: changes, localGateway: localGateway, metrics: metrics, logger: logger)
    }

    /// Runs `body` in one write transaction with the audit records it collects. Writes are
    /// serialized on both engines (across replicas on PostgreSQL), so each record's sequence
    /// number is the last one plus one: gap-free (a rolled-back write takes its numbers back
    /// with it, which a SQL sequence would not) and in commit order, so a reader following
    /// `afterSeq` never misses a record committed late with a lower number.
    func write<T: Sendable>(_ caller: Caller, _ body: @escaping @Sendable (any StoreRepository, inout [AuditEntry], Millis) throws -> T)
        async throws -> T
    {
        let now = clock.now()
        let actor = caller.auditName
        let (result, entries) = try await engine.writeRepository { db -> (T, [AuditEntry]) in
            var audit: [AuditEntry] = []
            let r = try body(db, &audit, now)
            for e in audit { try db.appendAudit(e, actor: actor, at: now) }
            if !audit.isEmpty { try db.notifyCommit() }
            return (r, audit)
        }
        for e in entries {
            logger.info("audit", metadata: [
                "actor": .string(actor), "action": .string(e.action), "object": .string("\(e.objectType)/\(e.objectID)"),
            ])
        }
        if !entries.isEmpty { changes.notify() }
        return result
    }

    func read<T: Sendable>(_ body: @escaping @Sendable (any StoreRepository) throws -> T) async throws -> T {
        try await engine.readRepository(body)
    }

    /// A write that is an observation, not a change (no audit record, no wake-up of its own):
    /// what agents and gateways report, sign-ins under way.
    func writeUnaudited<T: Sendable>(_ body: @escaping @Sendable (any StoreRepository) throws -> T) async throws -> T {
        try await engine.writeRepository(body)
    }

    // MARK: Loading

    static func json<T: Encodable>(_ value: T) -> String {
        String(decoding: (try? FerryJSON.encoder().encode(value)) ?? Data("null".utf8), as: UTF8.self)
    }

    static func topology(_ db: any StoreRepository) throws -> Topology {
        // In the compiler's canonical order (`PolicyCompiler.peerOrder`), which patches keep.
        let peers = try db.peers(.allByCreation)
        return Topology(network: try db.network(), segments: try db.segments(), peers: peers.map(\.peer),
                        gateways: peers.compactMap(\.gateway), rules: try db.rules())
    }

    /// A consistent snapshot of everything the policy compiler needs.
    public func topology() async throws -> Topology {
        try await compiler().topology
    }

    /// The policy compiler over the current topology, reloaded only after a change: every
    /// change goes through this store and bumps the change feed, so a snapshot read at
    /// revision R is current while the revision is still R (the revision is read before
    /// the snapshot, so a change racing the read makes the entry stale, never wrong). Callers
    /// wanting the same revision share one load.
    public func compiler() async throws -> PolicyCompiler {
        try await compiledTopology().compiler
    }

    func compiledTopology() async throws -> TopologyCache.Compiled {
        let revision = changes.revision
        return try await compiled.compiled(at: revision) { [self] base in try await updatedTopology(from: base) }
    }

    /// How many times the topology was brought up to date from the store, in full or by a
    /// patch (once per change at most); `topologyFullLoads` counts the full ones.
    public var topologyReloads: Int { compiled.reloads }
    public var topologyFullLoads: Int { compiled.fullLoads }

    /// The next read of the topology loads it in full (the benchmark's baseline).
    public func invalidateTopology() { compiled.invalidate() }
}

/// The service's former name, kept so callers and tests read as before.
public typealias FerryStore = CoordinatorService

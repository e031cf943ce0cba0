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

/// The service layer behind `FerryRepository`: validation, authorization, allocation,
/// audit, metrics and long polling, over one SQL engine (`SQLEngine`: SQLite through GRDB,
/// or PostgreSQL through postgres-nio). Every change goes through `write`, which appends
/// its audit records in the same transaction, mirrors them to the log after the commit and
/// wakes the change feed (and, on PostgreSQL, every other replica's).
public final class FerryStore: Sendable {
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
    func write<T: Sendable>(_ caller: Caller, _ body: @escaping @Sendable (any SQLTransaction, inout [AuditEntry], Millis) throws -> T)
        async throws -> T
    {
        let now = clock.now()
        let actor = caller.auditName
        let (result, entries) = try await engine.write { db -> (T, [AuditEntry]) in
            var audit: [AuditEntry] = []
            let r = try body(db, &audit, now)
            for e in audit {
                try db.execute(sql: """
                    INSERT INTO audit (seq, at, actor, action, object_type, object_id, peer_id, before, after)
                    VALUES ((SELECT COALESCE(MAX(seq), 0) + 1 FROM audit), ?, ?, ?, ?, ?, ?, ?, ?)
                    """, arguments: [now, actor, e.action, e.objectType, e.objectID, e.peerID, e.before, e.after])
            }
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

    func read<T: Sendable>(_ body: @escaping @Sendable (any SQLTransaction) throws -> T) async throws -> T {
        try await engine.read(body)
    }

    // MARK: Loading

    static func json<T: Encodable>(_ value: T) -> String {
        String(decoding: (try? FerryJSON.encoder().encode(value)) ?? Data("null".utf8), as: UTF8.self)
    }

    static func strings(_ text: String?) throws -> [String]? {
        guard let text else { return nil }
        guard let v = try? JSONDecoder().decode([String].self, from: Data(text.utf8)) else { throw StoreError.corrupt("list \(text)") }
        return v
    }

    static func prefix(_ s: String) throws -> IPPrefix {
        guard let p = IPPrefix(s) else { throw StoreError.corrupt("prefix \(s)") }
        return p
    }

    static func loadNetwork(_ db: any SQLTransaction) throws -> NetworkSettings {
        guard let row = try SQLRow.fetchOne(db, sql: "SELECT * FROM network WHERE id = 1") else { throw StoreError.corrupt("no network row") }
        let ipv6: String? = row["ipv6"]
        let dns = try strings(row["dns"]) ?? []
        let upstreams = try strings(row["dns_upstreams"]) ?? []
        return NetworkSettings(name: row["name"], ipv4: try prefix(row["ipv4"]), ipv6: try ipv6.map(prefix),
                               dns: dns.compactMap { IPAddress($0) }, mtu: row["mtu"], keepalive: row["keepalive"],
                               dnsZone: row["dns_zone"], dnsUpstreams: upstreams.compactMap { HostPort($0) })
    }

    static func loadSegments(_ db: any SQLTransaction) throws -> [Segment] {
        try SQLRow.fetchAll(db, sql: "SELECT id, name, ipv4 FROM segments ORDER BY ipv4").map {
            Segment(id: $0["id"], name: $0["name"], ipv4: try prefix($0["ipv4"]))
        }
    }

    static func segment(named name: String, _ db: any SQLTransaction) throws -> Segment? {
        try SQLRow.fetchOne(db, sql: "SELECT id, name, ipv4 FROM segments WHERE name = ?", arguments: [name]).map {
            Segment(id: $0["id"], name: $0["name"], ipv4: try prefix($0["ipv4"]))
        }
    }

    /// Gateway peer ids to their names.
    static func gatewayNames(_ db: any SQLTransaction) throws -> [String: String] {
        let rows = try SQLRow.fetchAll(db, sql: "SELECT p.id, p.name FROM peers p JOIN gateways g ON g.peer_id = p.id")
        return Dictionary(rows.map { ($0["id"] as String, $0["name"] as String) }, uniquingKeysWith: { a, _ in a })
    }

    static func loadRules(_ db: any SQLTransaction) throws -> [PolicyRule] {
        try SQLRow.fetchAll(db, sql: "SELECT * FROM policy_rules ORDER BY created_at, id").map { row in
            let toSegment: String? = row["to_segment"]
            let toSubnet: String? = row["to_subnet"]
            let toGateway: String? = row["to_gateway"]
            let target: PolicyTarget
            if let toSegment { target = .segment(toSegment) } else if let toSubnet { target = .subnet(try prefix(toSubnet)) }
            else if let toGateway { target = .gateway(toGateway) } else {
                throw StoreError.corrupt("rule without target")
            }
            let portsText: String = row["ports"]
            guard let ports = try? portsText.split(separator: " ").map({ try PortSpec(parsing: String($0)) }) else {
                throw StoreError.corrupt("rule ports \(portsText)")
            }
            return PolicyRule(id: row["id"], from: row["from_segment"], to: target, ports: ports)
        }
    }

    static let peerSelect = """
        SELECT p.*, g.endpoint AS g_endpoint, g.listen_port AS g_listen_port, g.subnets AS g_subnets,
               g.masquerade AS g_masquerade, g.local AS g_local, g.key_rotated_at AS g_key_rotated_at,
               \(failoverColumns)
        FROM peers p LEFT JOIN gateways g ON g.peer_id = p.id \(failoverJoin)
        """

    static func loadPeers(_ db: any SQLTransaction, where clause: String = "", _ arguments: SQLArguments = []) throws -> [PeerRecord] {
        try SQLRow.fetchAll(db, sql: "\(peerSelect) \(clause)", arguments: arguments).map(peerRecord)
    }

    static func loadPeer(_ db: any SQLTransaction, id: String) throws -> PeerRecord? {
        try loadPeers(db, where: "WHERE p.id = ?", [id]).first
    }

    static func peerRecord(_ row: SQLRow) throws -> PeerRecord {
        let id: String = row["id"]
        guard let kind = PeerKind(rawValue: row["kind"]), let tunnel = TunnelMode(rawValue: row["tunnel"]),
              let key = try? PublicKey(base64: row["public_key"] as String) else { throw StoreError.corrupt("peer \(id)") }
        let ipv4: Int64 = row["ipv4"]
        let reported: String? = row["reported_endpoint"], seen: String? = row["seen_endpoint"]
        var peer = Peer(
            id: id, name: row["name"], kind: kind, owner: row["owner"], segmentID: row["segment_id"],
            ipv4: IPv4Address(UInt32(truncatingIfNeeded: ipv4)), publicKey: key, tunnel: tunnel,
            dns: try strings(row["dns"])?.compactMap { IPAddress($0) }, mtu: row["mtu"], keepalive: row["keepalive"],
            mesh: row["mesh"], enabled: row["enabled"], restrictTo: try strings(row["restrict_to"])?.map(prefix),
            expiresAt: row["expires_at"], createdAt: row["created_at"], updatedAt: row["updated_at"],
            createdBy: row["created_by"], reportedEndpoint: reported.flatMap { HostPort($0) },
            seenEndpoint: seen.flatMap { HostPort($0) })
        peer.localCandidates = try strings(row["candidates"])?.compactMap { HostPort($0) } ?? []
        var gateway: Gateway?
        if let ep: String = row["g_endpoint"] {
            guard let endpoint = HostPort(ep) else { throw StoreError.corrupt("gateway \(id) endpoint") }
            gateway = Gateway(peerID: id, endpoint: endpoint, listenPort: UInt16(truncatingIfNeeded: row["g_listen_port"] as Int),
                              subnets: try strings(row["g_subnets"])?.map(prefix) ?? [], masquerade: row["g_masquerade"],
                              servesDNS: (row["g_local"] as Bool?) ?? false)
            readFailover(row, into: &gateway)
        }
        return PeerRecord(peer: peer, rxBytes: row["rx_bytes"], txBytes: row["tx_bytes"], latestHandshake: row["latest_handshake"],
                          gateway: gateway, gatewayLocal: (row["g_local"] as Bool?) ?? false, keyRotatedAt: row["g_key_rotated_at"],
                          lastHeartbeat: row["f_last_heartbeat"])
    }

    static func topology(_ db: any SQLTransaction) throws -> Topology {
        // In the compiler's canonical order (`PolicyCompiler.peerOrder`), which patches keep.
        let peers = try loadPeers(db, where: "ORDER BY p.created_at, p.id")
        return Topology(network: try loadNetwork(db), segments: try loadSegments(db), peers: peers.map(\.peer),
                        gateways: peers.compactMap(\.gateway), rules: try loadRules(db))
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

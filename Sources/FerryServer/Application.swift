import FerryCore
import FerrySystem
import Foundation
import GRDB
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import ServiceLifecycle
import WireGuard

/// Everything `ferryd serve` can be told. The defaults are the embedded ones; tests build
/// the same application with an in-memory store and a manual clock.
public struct FerryConfiguration: Sendable {
    public enum TLSMode: Sendable {
        case off
        case auto
        case files(certificate: String, key: String)
    }

    /// The data folder (SQLite, keys, TLS material); nil: in memory (tests).
    public var dataDirectory: URL?
    /// `--database postgres://…`: the store on PostgreSQL (replicas) instead of SQLite in
    /// the data folder.
    public var database: DatabaseURL?
    public var host = "127.0.0.1"
    public var port = 8080
    public var tls: TLSMode = .off
    /// `--gateway IFNAME`: the local WireGuard interface ferryd keeps equal to the store.
    public var gatewayInterface: String?
    /// The gateway record the local interface serves; defaults to the interface name.
    public var gatewayName: String?
    public var reaperPeriodMs: Int64 = 1000
    /// /metrics only with an admin or read-only token (`ferryd` sets it beyond loopback
    /// unless `--metrics-open`; `--metrics-token` sets it everywhere).
    public var metricsRequireToken = false
    /// Extra names and addresses for the `--tls auto` certificate (`--tls-name`).
    public var tlsNames: [String] = []
    /// Rotate the local gateway key when older than this; nil: only on demand.
    public var gatewayKeyRotationSeconds: Int64?
    public var clock: any FerryClock = SystemClock()
    /// Replaceable for tests; default: the UAPI socket (wg(8) without one), ip(8), nft(8).
    public var interfaceController: (any InterfaceController)?
    public var firewallController: (any FirewallController)?
    public var logLevel: Logger.Level = .info
    /// The first start's network prefixes (defaults: 10.10.0.0/16 and a random ULA /48).
    public var initialIPv4: IPPrefix?
    public var initialIPv6: IPPrefix?
    /// `--dns-listen`: more addresses the DNS server answers on (tests, hosts without a
    /// gateway); with a gateway it also answers on the gateway's overlay address, port 53.
    public var dnsListen: [HostPort] = []
    /// The port of the DNS server on the gateway's overlay address (tests move it).
    public var dnsGatewayPort: UInt16 = 53
    /// Connections, timeouts, long polls, write rates, shutdown (docs/ferryd.md, "Limits").
    public var limits = ServerLimits()
    /// Offline commands (`ferryd check`, `ferryd token create`) refuse a folder without a
    /// database instead of creating a new network there.
    public var requireExistingDatabase = false
    /// The least time between two JWKS fetches of one issuer (`--oidc-refetch-interval`).
    public var oidcRefetchInterval: Duration = .seconds(30)
    /// `ferry login`'s identity provider and claim-to-segment mapping; nil: no login.
    public var login: LoginConfiguration?
    /// The web portal's identity provider and role mapping (docs/portal.md); nil: no portal.
    public var portal: PortalConfiguration?
    /// When heartbeats stop counting and how long a returning gateway waits (failover).
    public var gatewayLiveness = GatewayLiveness.Settings()

    public init(dataDirectory: URL? = nil) { self.dataDirectory = dataDirectory }
}

/// The parts of a running coordinator, for ferryd's main and for tests.
public struct FerryServices: Sendable {
    public let store: FerryStore
    public let metrics: FerryMetrics
    /// The SQL engine the store runs on.
    public let engine: any SQLEngine
    /// The SQLite database when the store is on SQLite (`ferryd check`), else nil.
    public let database: (any DatabaseWriter)?
    /// The admin token's secret on a first start (print once), else nil.
    public let bootstrapSecret: String?
    public let localGateway: LocalGatewayKeys?
    public let tls: TLSSetup.Material?
    public let logger: Logger
    /// Every open HTTP connection (the cap, timeouts, disconnects, shutdown's report).
    public let connections: ConnectionRegistry
    /// The waiting long polls (caps; answered at once on shutdown).
    public let longPolls: LongPolls
    let writeLimiter: WriteRateLimiter
    /// The gateway sync's verdict, served by /health.
    public let gatewayHealth = GatewayHealth()
    /// The portal's traffic charts: recent rx/tx counters per peer, in memory.
    public let trafficHistory = TrafficHistory()
    /// ID tokens of CI jobs (and of people logging in): discovery and JWKS cached per issuer.
    public let oidcVerifier: OIDCVerifier
}

public let ferryVersion = "0.1.0"

/// Opens the store (creating and bootstrapping it on a first start), the local gateway key
/// and the TLS material.
public func buildServices(_ config: FerryConfiguration) async throws -> FerryServices {
    var logger = Logger(label: "ferryd")
    logger.logLevel = config.logLevel
    var db: (any DatabaseWriter)?
    let engine: any SQLEngine
    if let url = config.database {
        logger.info("store on PostgreSQL", metadata: ["database": .string(url.description)])
        engine = try await PostgresEngine.open(url, logger: logger)
    } else if let dir = config.dataDirectory {
        let file = dir.appendingPathComponent("ferry.sqlite").path
        if config.requireExistingDatabase, !FileManager.default.fileExists(atPath: file) {
            throw StoreError.noDatabase(dir.path)
        }
        // 0700 also when the folder exists already (created by hand or by a package).
        try AtomicWrite.makeDirectory(dir.path, mode: 0o700)
        let pool = try FerryDatabase.open(path: file)
        // The database and its WAL files hold the audit log and token hashes: owner only.
        for suffix in ["", "-wal", "-shm"] where FileManager.default.fileExists(atPath: file + suffix) { chmod(file + suffix, 0o600) }
        db = pool
        engine = GRDBEngine(pool)
    } else {
        let queue = try FerryDatabase.inMemory()
        db = queue
        engine = GRDBEngine(queue)
    }
    var keys: LocalGatewayKeys?
    if let iface = config.gatewayInterface {
        let dir = config.dataDirectory ?? FileManager.default.temporaryDirectory.appendingPathComponent("ferryd-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let k = try LocalGatewayKeys(directory: dir, interface: iface, gatewayName: config.gatewayName ?? iface)
        let stored = try await engine.readRepository { try $0.localGateway(named: k.gatewayName)?.publicKey }
        try k.recover(storedPublicKey: stored.flatMap { try? PublicKey(base64: $0) })
        keys = k
    }
    let metrics = FerryMetrics()
    let store = FerryStore(engine: engine, clock: config.clock, localGateway: keys, metrics: metrics, logger: logger)
    let secret = try await store.bootstrap(ipv4: config.initialIPv4, ipv6: config.initialIPv6)
    var tls: TLSSetup.Material?
    switch config.tls {
    case .off: break
    case .auto:
        let dir = config.dataDirectory ?? FileManager.default.temporaryDirectory.appendingPathComponent("ferryd-tls-\(UUID().uuidString)")
        tls = try await TLSSetup.selfSigned(in: dir, hosts: TLSSetup.names(listen: config.host, extra: config.tlsNames))
    case .files(let c, let k): tls = try TLSSetup.files(certificate: c, key: k)
    }
    let maxConnections = config.limits.effectiveMaxConnections()
    return FerryServices(store: store, metrics: metrics, engine: engine, database: db, bootstrapSecret: secret, localGateway: keys, tls: tls, logger: logger,
                         connections: ConnectionRegistry(limits: config.limits, maxConnections: maxConnections, logger: logger),
                         longPolls: LongPolls(maxTotal: config.limits.effectiveLongPolls(maxConnections: maxConnections),
                                              maxPerToken: config.limits.longPollsPerToken),
                         writeLimiter: WriteRateLimiter(rate: config.limits.writeRate, burst: config.limits.writeBurst),
                         oidcVerifier: OIDCVerifier(refetchInterval: config.oidcRefetchInterval))
}

/// The router with every route; also returns the route list (the OpenAPI test reads it).
/// `metricsRequireToken`: /metrics answers only an admin or read-only token (its text names
/// peers and their public keys), for a listener beyond loopback that scrapers share.
public func buildRouter(_ services: FerryServices, metricsRequireToken: Bool = false,
                        login: LoginConfiguration? = nil, portal: PortalConfiguration? = nil) -> (Router<FerryContext>, [RouteSpec]) {
    let router = Router(context: FerryContext.self)
    let table = RouteTable(router: router, services: services)
    router.add(middleware: UnmatchedRoutes(table: table))
    table.registerSystem(version: ferryVersion, openAPI: OpenAPIDocument.text,
                         metricsScopes: metricsRequireToken ? Scopes.readers : nil, health: services.gatewayHealth)
    table.registerNetwork()
    table.registerPeers()
    table.registerGateways()
    table.registerTokens()
    table.registerAudit()
    table.registerDNS()
    table.registerOIDC(store: services.store, verifier: services.oidcVerifier)
    table.registerLogin(store: services.store, verifier: services.oidcVerifier, config: login)
    table.registerPortal(config: portal, store: services.store, verifier: services.oidcVerifier, history: services.trafficHistory)
    return (router, table.specs)
}

/// The whole coordinator as a Hummingbird application: the router, the reaper, and with
/// `--gateway` the gateway sync and key rotation, all as ServiceLifecycle services.
/// `onListening`: called once the listening socket is bound (ferryd prints "listening on"
/// there, so whoever waits for that line can connect at once).
public func buildApplication(_ config: FerryConfiguration, services: FerryServices,
                             onListening: @escaping @Sendable () async -> Void = {}) throws -> some ApplicationProtocol {
    let (router, _) = buildRouter(services, metricsRequireToken: config.metricsRequireToken, login: config.login, portal: config.portal)
    var list: [any Service] = [ConnectionSweeper(connections: services.connections), Reaper(store: services.store, clock: config.clock, periodMs: config.reaperPeriodMs, logger: services.logger),
                               GatewayLiveness(store: services.store, clock: config.clock, settings: config.gatewayLiveness, logger: services.logger)]
    if config.portal != nil {
        list.append(TrafficSampler(store: services.store, history: services.trafficHistory, clock: config.clock, periodMs: 10_000, logger: services.logger))
    }
    // Other replicas' changes (PostgreSQL); a SQLite store has no other writer.
    if !(services.engine is GRDBEngine) { list.append(ReplicaChanges(engine: services.engine, changes: services.store.changes)) }
    if let keys = services.localGateway {
        let scratch = config.dataDirectory ?? FileManager.default.temporaryDirectory
        let iface = config.interfaceController ?? SystemInterface(name: keys.interface, scratch: scratch.appendingPathComponent("run"))
        // Agents reach the coordinator's API through the tunnel too: open on the host by construction.
        let api = PortSpec(proto: .tcp, ports: UInt16(clamping: config.port)...UInt16(clamping: config.port))
        // ferryd's DNS server on the gateway's overlay address (docs/dns.md), UDP and TCP.
        let dns = config.dnsGatewayPort
        let dnsPorts = [PortSpec(proto: .udp, ports: dns...dns), PortSpec(proto: .tcp, ports: dns...dns)]
        list.append(GatewaySync(store: services.store, keys: keys, interface: iface, firewall: config.firewallController ?? NFTFirewall(),
                                clock: config.clock, metrics: services.metrics, logger: services.logger,
                                services: [api] + dnsPorts, health: services.gatewayHealth))
        if let cadence = config.gatewayKeyRotationSeconds {
            list.append(KeyRotationService(store: services.store, clock: config.clock, cadenceSeconds: cadence, logger: services.logger))
        }
    }
    if !config.dnsListen.isEmpty || services.localGateway != nil {
        list.append(DNSService(store: services.store, listen: config.dnsListen, followGateway: services.localGateway != nil,
                               port: config.dnsGatewayPort, logger: services.logger))
    }
    let server = HTTPServerBuilder.guarded(services.connections, tls: try services.tls.map(TLSSetup.configuration),
                                           handlers: [HTTP10CloseInstaller()])
    return Application(router: router, server: server,
                       configuration: .init(address: .hostname(config.host, port: config.port), serverName: "ferryd", backlog: 1024),
                       services: list, onServerRunning: { _ in await onListening() }, logger: services.logger)
}

/// Opens everything and builds the application.
public func buildApplication(_ config: FerryConfiguration) async throws -> some ApplicationProtocol {
    try buildApplication(config, services: try await buildServices(config))
}

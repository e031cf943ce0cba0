import FerryCore
import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import WireGuard

/// Keeps the local gateway interface and its firewall equal to the store. Wakes on every
/// committed change (so a created, changed, disabled or deleted peer is applied at once)
/// and at least every second (expiry, counters, endpoints the gateway sees). Applies only
/// what changed: `wg syncconf` (or the UAPI) touches only differing peers, and the
/// nftables table is replaced atomically when its text changes or when the live table no
/// longer matches what was loaded (someone flushed or edited it).
public struct GatewaySync: Service {
    let store: FerryStore
    let keys: LocalGatewayKeys
    let interface: any InterfaceController
    let firewall: any FirewallController
    let clock: any FerryClock
    let metrics: FerryMetrics
    let logger: Logger
    /// Ports the gateway host opens to every peer (the coordinator's API, DNS).
    let services: [PortSpec]
    let health: GatewayHealth

    public init(store: FerryStore, keys: LocalGatewayKeys, interface: any InterfaceController, firewall: any FirewallController,
                clock: any FerryClock, metrics: FerryMetrics, logger: Logger, services: [PortSpec] = [],
                health: GatewayHealth = GatewayHealth()) {
        self.services = services
        self.health = health
        self.store = store
        self.keys = keys
        self.interface = interface
        self.firewall = firewall
        self.clock = clock
        self.metrics = metrics
        self.logger = logger
    }

    public typealias Applied = GatewayConverger.Applied

    var converger: GatewayConverger {
        GatewayConverger(interface: interface, firewall: firewall, metrics: metrics, logger: logger, health: health)
    }

    public func run() async throws {
        // On shutdown the interface and the firewall stay as they are: peers keep exactly the
        // access they had (fail closed) until ferryd runs again.
        do {
            try await cancelWhenGracefulShutdown { try await loop() }
        } catch is CancellationError {
            // Graceful shutdown.
        }
    }

    private func loop() async throws {
        var applied = Applied()
        var waiting = false
        while !Task.isCancelled {
            let revision = store.changes.revision
            do {
                let found = try await syncOnce(&applied)
                if !found, !waiting { logger.notice("no gateway named \(keys.gatewayName) yet: create it with POST /v1/gateways (no publicKey needed)") }
                waiting = !found
            } catch where !Task.isCancelled {
                metrics.gatewaySyncErrors.increment()
                logger.error("gateway sync failed", metadata: ["error": .string("\(error)")])
                applied = Applied()
            }
            await store.changes.wait(after: revision, timeout: .seconds(1))
        }
    }

    /// One pass; false when the store has no gateway of this host's name yet.
    ///
    /// Order matters for least privilege: the firewall is loaded (and checked live) before
    /// any peer is put on the interface; when it cannot be, the interface is emptied of
    /// peers and the error is raised, so no peer is ever up without its rules.
    @discardableResult
    public func syncOnce(_ applied: inout Applied) async throws -> Bool {
        let now = clock.now()
        let compiler = try await store.compiler()
        let topology = compiler.topology
        let me = topology.peers.first { $0.kind == .gateway && $0.name == keys.gatewayName }
        var config = WGQuickConfig()
        config.interface.privateKey = keys.privateKey
        var nft: String
        var addresses: [IPPrefix] = []
        if let me, me.enabled, me.publicKey == keys.publicKey,
           let c = compiler.gatewayConfig(for: me.id, interface: interface.name, privateKey: keys.privateKey, at: now) {
            config = c
            addresses = c.interface.addresses
            nft = NFTablesRenderer.render(compiler.firewall(ofGateway: me.id, interface: interface.name, at: now, services: services))
        } else {
            if let me, me.publicKey != keys.publicKey {
                logger.warning("gateway \(me.name) in the store has another public key than \(keys.interface)'s key file; serving no peers")
            }
            // No gateway record (or disabled): the interface carries no peers and forwards nothing.
            nft = NFTablesRenderer.render(FirewallPlan.closed(interface: interface.name, services: services))
        }
        let names = Dictionary(topology.peers.map { ($0.publicKey.base64, $0.name) }, uniquingKeysWith: { a, _ in a })
        let desired = GatewayDesired(addresses: addresses, mtu: config.interface.mtu ?? topology.network.mtu, config: config,
                                     nftables: nft, names: names)
        let status = try await converger.converge(desired, &applied)
        try await store.recordObserved(status)
        return me != nil
    }
}

/// The gateway sync's last verdict, served by /health: nil when healthy, else why the
/// gateway is degraded.
public final class GatewayHealth: Sendable {
    private let state = Mutex<String?>(nil)
    public init() {}
    public var problem: String? { state.withLock { $0 } }
    func set(_ problem: String?) { state.withLock { $0 = problem } }
}

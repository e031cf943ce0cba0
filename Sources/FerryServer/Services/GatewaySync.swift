import FerryCore
import Foundation
import Logging
import ServiceLifecycle
import WireGuard

/// Keeps the local gateway interface and its firewall equal to the store. Wakes on every
/// committed change (so a created, changed, disabled or deleted peer is applied at once)
/// and at least every second (expiry, counters, endpoints the gateway sees). Applies only
/// what changed: `wg syncconf` (or the UAPI) touches only differing peers, and the
/// nftables table is replaced atomically only when its text changes.
public struct GatewaySync: Service {
    let store: FerryStore
    let keys: LocalGatewayKeys
    let interface: any InterfaceController
    let firewall: any FirewallController
    let clock: any FerryClock
    let metrics: FerryMetrics
    let logger: Logger

    public init(store: FerryStore, keys: LocalGatewayKeys, interface: any InterfaceController, firewall: any FirewallController,
                clock: any FerryClock, metrics: FerryMetrics, logger: Logger) {
        self.store = store
        self.keys = keys
        self.interface = interface
        self.firewall = firewall
        self.clock = clock
        self.metrics = metrics
        self.logger = logger
    }

    /// What was last applied, so unchanged state is not re-applied.
    public struct Applied: Sendable, Equatable {
        var addresses: [IPPrefix] = []
        var config: WGQuickConfig?
        var nftables: String?
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
            nft = NFTablesRenderer.render(compiler.firewall(ofGateway: me.id, interface: interface.name, at: now))
        } else {
            if let me, me.publicKey != keys.publicKey {
                logger.warning("gateway \(me.name) in the store has another public key than \(keys.interface)'s key file; serving no peers")
            }
            // No gateway record (or disabled): the interface carries no peers and forwards nothing.
            nft = NFTablesRenderer.render(FirewallPlan(interface: interface.name, overlay: [], masquerade: false, rules: []))
        }
        if addresses != applied.addresses || applied.config == nil {
            try await interface.ensureUp(addresses: addresses, mtu: config.interface.mtu ?? topology.network.mtu)
            applied.addresses = addresses
        }
        if config != applied.config {
            try await interface.apply(config)
            applied.config = config
            metrics.gatewaySyncs.increment()
            logger.info("gateway interface synced", metadata: ["interface": .string(interface.name), "peers": .stringConvertible(config.peers.count)])
        }
        if nft != applied.nftables {
            try await firewall.apply(nftables: nft)
            applied.nftables = nft
        }
        let status = try await interface.status()
        let names = Dictionary(topology.peers.map { ($0.publicKey.base64, $0.name) }, uniquingKeysWith: { a, _ in a })
        metrics.setInterfaceStatus(interface: interface.name, peers: status, names: names)
        try await store.recordObserved(status)
        return me != nil
    }
}

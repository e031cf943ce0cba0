import FerryCore
import Logging
import WireGuard

/// What a gateway's interface and firewall must hold, wherever it was decided: from the
/// store for the gateway ferryd hosts (`GatewaySync`), from the coordinator's network map
/// for a gateway host of its own (`RemoteGateway`).
public struct GatewayDesired: Sendable, Equatable {
    public var addresses: [IPPrefix]
    public var mtu: Int
    /// Key, port and peers (wg-quick-only keys are ignored by the interface).
    public var config: WGQuickConfig
    public var nftables: String
    /// Public key (base64) → peer name, for the metrics.
    public var names: [String: String]

    public init(addresses: [IPPrefix], mtu: Int, config: WGQuickConfig, nftables: String, names: [String: String]) {
        self.addresses = addresses
        self.mtu = mtu
        self.config = config
        self.nftables = nftables
        self.names = names
    }
}

/// The one apply path of every gateway: addresses, then the firewall (loaded and checked
/// live) before any peer, then the peers; only what changed is applied. The firewall is
/// restored when the live table no longer matches what was loaded (someone flushed or
/// edited it); when it cannot be loaded the interface is emptied of peers and the error
/// is raised, so no peer is ever up without its rules.
public struct GatewayConverger: Sendable {
    /// What was last applied, so unchanged state is not re-applied.
    public struct Applied: Sendable, Equatable {
        var addresses: [IPPrefix] = []
        var config: WGQuickConfig?
        var nftables: String?
        /// The table as listed right after loading `nftables`.
        var live: String?
        public init() {}
    }

    let interface: any InterfaceController
    let firewall: any FirewallController
    let metrics: FerryMetrics
    let logger: Logger
    let health: GatewayHealth

    public init(interface: any InterfaceController, firewall: any FirewallController, metrics: FerryMetrics, logger: Logger,
                health: GatewayHealth) {
        self.interface = interface
        self.firewall = firewall
        self.metrics = metrics
        self.logger = logger
        self.health = health
    }

    /// Makes the interface and firewall equal to `desired`; returns what the interface sees.
    public func converge(_ desired: GatewayDesired, _ applied: inout Applied) async throws -> [InterfacePeerStatus] {
        if desired.addresses != applied.addresses || applied.config == nil {
            try await interface.ensureUp(addresses: desired.addresses, mtu: desired.mtu)
            applied.addresses = desired.addresses
        }
        try await enforceFirewall(desired.nftables, config: desired.config, &applied)
        if desired.config != applied.config {
            try await interface.apply(desired.config)
            applied.config = desired.config
            metrics.gatewaySyncs.increment()
            logger.info("gateway interface synced", metadata: ["interface": .string(interface.name), "peers": .stringConvertible(desired.config.peers.count)])
        }
        let status = try await interface.status()
        metrics.setInterfaceStatus(interface: interface.name, peers: status, names: desired.names)
        return status
    }

    /// Loads `nft` unless it is live already as it was right after the last load (a
    /// changed or flushed table is restored on the next pass, within a second), and keeps
    /// the routing guard in place. On failure: no peers on the interface, health degraded.
    private func enforceFirewall(_ nft: String, config: WGQuickConfig, _ applied: inout Applied) async throws {
        do {
            let live = applied.nftables == nft ? try await firewall.live(interface: interface.name) : nil
            if applied.nftables != nft || live != applied.live {
                if applied.nftables == nft {
                    metrics.gatewayFirewallRepairs.increment()
                    logger.warning("the firewall of \(interface.name) was changed or removed from outside; restoring it")
                }
                try await firewall.guardForwarding(interface: interface.name)
                try await firewall.apply(nftables: nft)
                applied.nftables = nft
                guard let now = try await firewall.live(interface: interface.name) else {
                    throw GatewayFirewallError.notLive(interface.name)
                }
                applied.live = now
            }
            health.set(nil)
        } catch {
            applied.nftables = nil
            applied.live = nil
            metrics.gatewayFirewallFailures.increment()
            let reason = "the firewall of \(interface.name) could not be loaded (\(error)); no peers are served until it is"
            health.set(reason)
            logger.error("\(reason)")
            var empty = WGQuickConfig()
            empty.interface.privateKey = config.interface.privateKey
            empty.interface.listenPort = config.interface.listenPort
            if applied.config != empty {
                try? await interface.apply(empty)
                applied.config = empty
            }
            throw error
        }
    }
}

enum GatewayFirewallError: Error, CustomStringConvertible {
    case notLive(String)
    var description: String {
        switch self {
        case .notLive(let name): "the table of \(name) is not in the live ruleset after loading it"
        }
    }
}

import FerryCore
import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import WireGuard

/// The coordinator, as a gateway host that is not the coordinator sees it (`ferryd
/// gateway`): its gateway's network map (long poll) and its heartbeats. ferryd implements
/// it over FerryAgent's pinned HTTPS client.
public protocol GatewayUpstream: Sendable {
    /// The gateway's map; with `since`, waits up to `wait` seconds for another version and
    /// returns nil when none came.
    func map(since: Int64?, wait: Int) async throws -> NetworkMap?
    func heartbeat(_ request: GatewayHeartbeatRequest) async throws -> GatewayHeartbeatResponse
    /// The coordinator that answered last (with several replicas, the one in use), for
    /// /metrics and /health; nil when unknown.
    var coordinator: String? { get }
}

extension GatewayUpstream {
    public var coordinator: String? { nil }
}

/// A gateway host that follows a coordinator elsewhere: long-polls its gateway's map,
/// converges interface and firewall through the same `GatewayConverger` as ferryd's own
/// gateway (at least every second, so a flushed firewall comes back), and sends a
/// heartbeat every second saying whether it serves (a gateway whose firewall could not be
/// loaded serves nobody, and says so, so agents move away from it). While the coordinator
/// is unreachable it keeps its last state: peers keep exactly the access they had.
public struct RemoteGateway: Service {
    public struct Options: Sendable {
        public var pollWait = 25
        public var heartbeatEvery: Duration = .seconds(1)
        public var maxBackoff: Duration = .seconds(4)
        public init() {}
    }

    let upstream: any GatewayUpstream
    let privateKey: PrivateKey
    let converger: GatewayConverger
    let interfaceName: String
    let logger: Logger
    let options: Options
    let status: RemoteGatewayStatus

    public init(upstream: any GatewayUpstream, privateKey: PrivateKey, interface: any InterfaceController, firewall: any FirewallController,
                metrics: FerryMetrics, logger: Logger, status: RemoteGatewayStatus = RemoteGatewayStatus(), options: Options = Options()) {
        self.upstream = upstream
        self.privateKey = privateKey
        converger = GatewayConverger(interface: interface, firewall: firewall, metrics: metrics, logger: logger, health: status.firewall)
        self.status = status
        interfaceName = interface.name
        self.logger = logger
        self.options = options
    }

    /// What the loops share: the newest map, and what the last pass made of it.
    final class Shared: Sendable {
        struct State {
            var map: NetworkMap?
            var applied: Int64?
            var observed: [InterfacePeerStatus] = []
            var problem: String? = "no network map from the coordinator yet"
        }
        let state = Mutex(State())
        let changes = ChangeFeed()
    }

    public func run() async throws {
        let shared = Shared()
        do {
            try await cancelWhenGracefulShutdown {
                await withTaskGroup(of: Void.self) { group in
                    group.addTask { await pollLoop(shared) }
                    group.addTask { await convergeLoop(shared) }
                    group.addTask { await heartbeatLoop(shared) }
                    await group.waitForAll()
                }
            }
        } catch is CancellationError {
            // Graceful shutdown: the interface and firewall stay as they are.
        }
    }

    func pollLoop(_ shared: Shared) async {
        var backoff: Duration = .milliseconds(500)
        var failing = false
        while !Task.isCancelled {
            do {
                let since = shared.state.withLock { $0.map?.version }
                if let map = try await upstream.map(since: since, wait: since == nil ? 0 : options.pollWait) {
                    shared.state.withLock { $0.map = map }
                    status.received(map.version)
                    shared.changes.notify()
                }
                status.contact(upstream.coordinator)
                if failing { logger.notice("coordinator reachable again") }
                failing = false
                backoff = .milliseconds(500)
            } catch where !Task.isCancelled {
                status.contactFailed(error)
                if !failing { logger.warning("cannot get the gateway's map (\(error)); keeping the last one, retrying") }
                failing = true
                try? await Task.sleep(for: backoff)
                backoff = min(backoff * 2, options.maxBackoff)
            } catch {
                return
            }
        }
    }

    func convergeLoop(_ shared: Shared) async {
        var applied = GatewayConverger.Applied()
        var lastProblem: String?
        while !Task.isCancelled {
            let revision = shared.changes.revision
            if let map = shared.state.withLock({ $0.map }) {
                let (desired, problem) = Self.desired(from: map, privateKey: privateKey, interface: interfaceName)
                do {
                    let observed = try await converger.converge(desired, &applied)
                    shared.state.withLock { $0.observed = observed; $0.applied = map.version; $0.problem = problem }
                    status.converged(map.version, problem: problem)
                    if let problem, problem != lastProblem { logger.warning("\(problem)") }
                    lastProblem = problem
                } catch where !Task.isCancelled {
                    let problem = "gateway sync failed: \(error)"
                    shared.state.withLock { $0.problem = problem }
                    status.failed(problem)
                    if problem != lastProblem { logger.error("\(problem)") }
                    lastProblem = problem
                    applied = GatewayConverger.Applied()
                } catch {
                    return
                }
            }
            _ = await shared.changes.wait(after: revision, timeout: .seconds(1))
        }
    }

    func heartbeatLoop(_ shared: Shared) async {
        var failing = false
        var lastStatus: String?
        while !Task.isCancelled {
            let s = shared.state.withLock { $0 }
            let peers = s.observed.map {
                GatewayHeartbeatRequest.ObservedPeer(publicKey: $0.publicKey.base64, endpoint: $0.endpoint?.description,
                                                     latestHandshake: $0.latestHandshake, rxBytes: $0.rxBytes, txBytes: $0.txBytes)
            }
            do {
                let answer = try await upstream.heartbeat(GatewayHeartbeatRequest(mapVersion: s.applied, peers: peers, problem: s.problem))
                status.contact(upstream.coordinator)
                let said = "\(answer.status), carrying \(answer.active.isEmpty ? "no subnet" : answer.active.joined(separator: ", "))"
                if said != lastStatus { logger.notice("coordinator: this gateway is \(said)") }
                lastStatus = said
                failing = false
            } catch where !Task.isCancelled {
                status.contactFailed(error)
                if !failing { logger.warning("heartbeat failed (\(error)); retrying every \(options.heartbeatEvery)") }
                failing = true
            } catch {
                return
            }
            try? await Task.sleep(for: options.heartbeatEvery)
        }
    }

    /// What a gateway's map asks of its interface. A map for another key (rotated
    /// elsewhere), a disabled gateway, or a map without its gateway part: no peers, and
    /// a firewall that forwards nothing, with the reason.
    public static func desired(from map: NetworkMap, privateKey: PrivateKey, interface: String) -> (GatewayDesired, problem: String?) {
        var config = WGQuickConfig()
        config.interface.privateKey = privateKey
        let closed = NFTablesRenderer.render(FirewallPlan.closed(interface: interface))
        let names = Dictionary(map.peers.map { ($0.publicKey, $0.name) }, uniquingKeysWith: { a, _ in a })
        let mine = privateKey.publicKey.base64
        guard let g = map.gateway else {
            return (GatewayDesired(addresses: [], mtu: map.interface.mtu, config: config, nftables: closed, names: names),
                    "the coordinator's map of \(map.name) is not a gateway's; serving no peers")
        }
        config.interface.listenPort = UInt16(exactly: g.listenPort)
        if let registered = map.interface.publicKey, registered != mine {
            return (GatewayDesired(addresses: [], mtu: map.interface.mtu, config: config, nftables: closed, names: names),
                    "gateway \(map.name) has the public key \(registered) at the coordinator, this host's key is \(mine); serving no peers")
        }
        guard map.enabled else {
            return (GatewayDesired(addresses: [], mtu: map.interface.mtu, config: config, nftables: closed, names: names),
                    "gateway \(map.name) is disabled at the coordinator; serving no peers")
        }
        config.interface.mtu = map.interface.mtu
        config.peers = map.peers.compactMap { e in
            guard let key = try? PublicKey(base64: e.publicKey) else { return nil }
            var p = WGQuickConfig.Peer(publicKey: key)
            p.allowedIPs = e.allowedIPs.compactMap { IPPrefix($0) }
            p.comment = e.name
            return p
        }
        let addresses = map.interface.addresses.compactMap { IPPrefix($0) }
        return (GatewayDesired(addresses: addresses, mtu: map.interface.mtu, config: config, nftables: g.nftables, names: names), nil)
    }
}

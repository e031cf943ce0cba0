import FerryCore
import FerrySystem
import Foundation
import WireGuard

/// Keeps one machine's interface equal to the coordinator's view of it: brings the
/// interface up from the freshest map it can get (the coordinator's, else the last one
/// saved), then long-polls for changes and applies only the difference (peers over the
/// UAPI socket, so live sessions survive; addresses and routes through ip(8)). While the
/// coordinator is unreachable the interface keeps its last map, and the agent retries
/// with backoff, saying so in its log. It reports its counters back periodically.
public actor Agent {
    public struct Options: Sendable {
        /// The userspace WireGuard to start when the kernel has no module.
        public var userspace: String?
        public var listenPort: UInt16?
        /// A public HOST:PORT to report (mesh peers dial it).
        public var endpoint: String?
        /// Seconds a long poll waits at the coordinator.
        public var pollWait = 25
        public var reportInterval: Duration = .seconds(30)
        /// The longest pause between attempts while the coordinator is unreachable.
        public var maxBackoff: Duration = .seconds(8)
        public var log: @Sendable (String) -> Void = { Console.progress($0, timestamps: true) }
        public init() {}
    }

    public let state: AgentState
    let directory: StateDirectory
    var key: PrivateKey
    let client: CoordinatorClient
    public let driver: InterfaceDriver
    /// The zone's DNS on this machine (resolvectl, else the resolv.conf fallback).
    public let splitDNS: SplitDNS
    let runner: any CommandRunner
    let options: Options
    public private(set) var current: NetworkMap?
    private var unreachableSince: Date?
    /// Set when the coordinator says this machine's peer is gone: the sync loop ends and
    /// `ferry up` takes the interface down and exits with this error's code (8).
    public private(set) var removal: FerryError?
    /// The key mismatch last logged, so it is said once, not at every map.
    private var keyProblem: String?
    /// The coordinator that answered last (several: `ferry join URL URL...`).
    private var answering: String?
    /// Direct or relayed, per mesh peer, and what its entry holds now (Agent+Mesh).
    var mesh = MeshPaths()
    var meshSettings: [String: MeshPaths.Setting] = [:]
    /// The plan last applied, which mesh ticks adjust.
    var plan: InterfacePlan?

    public init(directory: StateDirectory, state: AgentState, client: CoordinatorClient, options: Options,
                runner: any CommandRunner = ProcessRunner()) throws(FerryError) {
        self.directory = directory
        self.state = state
        self.key = try directory.loadPrivateKey()
        self.client = client
        self.options = options
        self.runner = runner
        driver = InterfaceDriver(name: state.interface, scratch: URL(fileURLWithPath: directory.file("wg")), runner: runner)
        splitDNS = SplitDNS(interface: state.interface, directory: directory, runner: runner)
    }

    func log(_ s: String) { options.log(s) }

    /// Creates the interface if needed and applies the coordinator's map, or the last saved
    /// one when the coordinator cannot be reached. Fails only when there is no map at all.
    @discardableResult
    public func bringUp() async throws(FerryError) -> NetworkMap {
        let map: NetworkMap
        do throws(FerryError) {
            guard let fresh = try await client.netmap(peerID: state.peerID) else { throw FerryError.failure("no map") }
            map = fresh
        } catch {
            guard error.kind == .unreachable, let saved = directory.loadNetmap() else { throw error }
            log("coordinator unreachable (\(error.message)); starting from the last map saved (version \(saved.version))")
            unreachableSince = Date()
            map = saved
        }
        let created = try await driver.ensureExists(userspace: options.userspace, log: options.log)
        do throws(FerryError) {
            try await apply(map, force: true)
        } catch {
            // Nothing of this run may stay behind: an interface it created (and the ferry-wg
            // it started). One that was there before (an agent restarted after a crash,
            // adopting a working tunnel) is left as it was.
            if created {
                try? await driver.local.delete()
                log("\(driver.name) removed again: it could not be configured")
            }
            throw error
        }
        return map
    }

    /// Compares the coordinator's public key for this machine (in its map; from its peer
    /// record with an older coordinator) with its own, and logs the difference once. When
    /// `ferry rotate-key` replaced the key file with the key the coordinator now has, the
    /// agent takes it and applies the map again.
    public func checkKey() async {
        var registered = current?.interface.publicKey
        if registered == nil { registered = try? await client.peer(id: state.peerID).publicKey }
        guard let registered else { return }
        if registered != key.publicKey.base64, let onDisk = try? directory.loadPrivateKey(),
           onDisk.publicKey.base64 == registered, let map = current {
            key = onDisk
            log("this machine's key was rotated (\(registered)); applying it")
            try? await apply(map, force: true)
        }
        let problem = KeyMismatch.message(own: key.publicKey.base64, coordinators: registered)
        if let problem, problem != keyProblem { log(problem) }
        keyProblem = problem
    }

    /// Applies `map` if it differs from the one applied (or always, with `force`).
    public func apply(_ map: NetworkMap, force: Bool = false) async throws(FerryError) {
        let previous = current
        guard force || previous?.version != map.version || previous == nil else { return }
        let plan = InterfacePlan.make(map, privateKey: key, listenPort: options.listenPort)
        // The mesh directions first: a new mesh peer that may not connect in must not get a
        // window between its entry and the rule that drops its new connections.
        if let warning = await MeshFirewall.apply(interface: state.interface, map: map, runner: runner) { log(warning) }
        let takeover = GatewayTakeover.takingOver(previous: previous, next: map)
        if let previous, !takeover.isEmpty {
            // Failover: fresh sessions with the gateways taking over (GatewayTakeover.swift).
            try await driver.apply(InterfacePlan.make(GatewayTakeover.interim(previous, without: takeover), privateKey: key,
                                                      listenPort: options.listenPort))
            log("gateway failover: \(map.peers.filter { takeover.contains($0.publicKey) }.map(\.name).joined(separator: ", ")) takes over routes")
        }
        try await applyWithMesh(plan, map: map)
        if force || previous?.dns != map.dns {
            // DNS trouble is logged, not fatal: the tunnel works without names.
            do throws(FerryError) {
                if let said = try await splitDNS.apply(map.dns) { log(said) }
            } catch { log("DNS for the zone NOT configured: \(error.message)") }
        }
        current = map
        try? directory.saveNetmap(map)
        log(Self.describe(map, plan: plan, previous: previous))
        if !plan.unresolved.isEmpty { log("endpoints that did not resolve: \(plan.unresolved.joined(separator: ", "))") }
    }

    static func describe(_ map: NetworkMap, plan: InterfacePlan, previous: NetworkMap?) -> String {
        if !map.enabled { return "map \(map.version): this peer is disabled or expired at the coordinator; all peers removed" }
        let before = Set(previous?.peers.map(\.publicKey) ?? []), after = Set(map.peers.map(\.publicKey))
        let changed = map.peers.filter { e in previous?.peers.contains(where: { $0.publicKey == e.publicKey && $0 != e }) ?? false }.count
        return "map \(map.version) applied: \(map.peers.count) peer(s) (+\(after.subtracting(before).count) -\(before.subtracting(after).count) ~\(changed)), \(plan.routes.count) route(s), \(plan.addresses.map(\.description).joined(separator: ", "))"
    }

    /// Long-polls and applies until the task is cancelled.
    public func syncLoop() async {
        var backoff: Duration = .seconds(1)
        while !Task.isCancelled {
            do throws(FerryError) {
                let since = current?.version ?? 0
                if let map = try await client.netmap(peerID: state.peerID, since: since, wait: options.pollWait) {
                    try await apply(map)
                    await checkKey()
                }
                if client.urls.count > 1, client.baseURL != answering {
                    if answering != nil { log("coordinator \(answering ?? "") stopped answering; now using \(client.baseURL)") }
                    answering = client.baseURL
                }
                if let since = unreachableSince {
                    log("coordinator reachable again after \(Int(Date().timeIntervalSince(since)))s; in sync (map \(current?.version ?? 0))")
                    unreachableSince = nil
                }
                backoff = .seconds(1)
            } catch {
                if Task.isCancelled { return }
                if error.kind == .removed {
                    log(error.message)
                    removal = error
                    return
                }
                if unreachableSince == nil { unreachableSince = Date() }
                let what = error.kind == .unreachable ? "coordinator unreachable" : "sync failed"
                log("\(what): \(error.message); keeping the last map (\(current?.version ?? 0)) and the tunnels, retrying in \(backoff)")
                try? await Task.sleep(for: backoff)
                backoff = min(backoff * 2, options.maxBackoff)
            }
        }
    }

    /// Reports counters (and the configured endpoint) every `reportInterval` until cancelled.
    public func reportLoop() async {
        var failing = false
        // The first report at once: mesh peers need this machine's candidates (docs/mesh.md).
        var first = true
        while !Task.isCancelled {
            if !first { try? await Task.sleep(for: options.reportInterval) }
            first = false
            if Task.isCancelled { return }
            do throws(FerryError) {
                try await reportOnce()
                failing = false
            } catch {
                // Said once per streak: the sync loop already reports an unreachable coordinator.
                if !failing, error.kind != .unreachable { log("report failed: \(error.message)") }
                failing = true
            }
        }
    }

    public func reportOnce() async throws(FerryError) {
        let peers = try await driver.status()
        var r = ReportRequest(endpoint: options.endpoint, rxBytes: peers.reduce(0) { $0 + $1.rxBytes },
                              txBytes: peers.reduce(0) { $0 + $1.txBytes },
                              latestHandshake: peers.map(\.latestHandshake).max() ?? 0)
        await addMeshReport(&r)
        try await client.report(peerID: state.peerID, r)
    }
}

import FerryCore
import FerrySystem
import Foundation
import WireGuard

/// What the checklist is run over: the facts gathered once, the probes it may use, and
/// the user's options.
public struct DoctorInputs: Sendable {
    public var local: InterfaceSnapshot
    public var coordinator: CoordinatorView
    public var hostAddresses: [IPAddress]
    public var clock: ClockSample?
    /// Where the enrolled private key lives (named in fixes).
    public var privateKeyPath: String?
    /// The public half of the enrolled private key: tells "rotated elsewhere" from "the
    /// interface holds a stray key".
    public var enrolledPublicKey: PublicKey?
    /// The address across the tunnel to probe the MTU with; by default the gateway's own.
    public var target: IPAddress?
    public var handshakeTimeout: Duration = .seconds(5)
    public var nowSeconds = Int64(Date().timeIntervalSince1970)
    /// The agent's mesh paths (its `mesh.json`); nil when it wrote none.
    public var meshPaths: [MeshPath]?

    public init(local: InterfaceSnapshot, coordinator: CoordinatorView, hostAddresses: [IPAddress], clock: ClockSample?,
                privateKeyPath: String? = nil, target: IPAddress? = nil) {
        self.local = local
        self.coordinator = coordinator
        self.hostAddresses = hostAddresses
        self.clock = clock
        self.privateKeyPath = privateKeyPath
        self.target = target
    }

    /// The address the MTU is probed against: the user's, else the first gateway's own.
    public var probeTarget: IPAddress? {
        if let target { return target }
        let peers = coordinator.peers
        // Not a mesh peer this machine may not dial: its mesh table drops the probes.
        let dialable = peers.filter { !($0.entry.role == "mesh" && $0.entry.outbound == false) }
        return (dialable.first { $0.entry.role == "gateway" } ?? dialable.first { $0.endpoint != nil })?.ownAddress
    }

    /// Every prefix the map routes into the tunnel, once each.
    var routedPrefixes: [IPPrefix] {
        var seen = Set<IPPrefix>()
        return coordinator.peers.flatMap(\.allowedIPs).filter { seen.insert($0).inserted }
    }
}

/// The probes the checklist uses.
public struct DoctorProbeSet: Sendable {
    public var reader: any InterfaceReader
    public var pinger: any TunnelPinger
    public var routes: any RouteLookup
    public var udp: any UDPPortProbe
    public var sleeper: any DoctorSleeper
    public var zone: any ZoneLookup

    public init(reader: any InterfaceReader, pinger: any TunnelPinger, routes: any RouteLookup, udp: any UDPPortProbe,
                sleeper: any DoctorSleeper = TaskSleeper(), zone: any ZoneLookup = SystemZoneLookup()) {
        self.reader = reader
        self.pinger = pinger
        self.routes = routes
        self.udp = udp
        self.sleeper = sleeper
        self.zone = zone
    }

    /// This machine's: ping, ip, the UAPI socket or wg, and a scratch UDP socket.
    public static func system(interface: String, fwmark: UInt32, runner: any CommandRunner = ProcessRunner()) -> DoctorProbeSet {
        let s = SystemProbes(interface: interface, runner: runner)
        return DoctorProbeSet(reader: s, pinger: s, routes: s, udp: SystemUDPPortProbe(fwmark: fwmark))
    }
}

extension Doctor {
    /// `ferry doctor`'s checklist, in the order it prints: the coordinator, configuration
    /// (keys, allowed IPs, routes), then the path (handshake, MTU), then NAT, DNS and the clock.
    public static func checklist(_ inputs: DoctorInputs, probes: DoctorProbeSet, coordinator: CoordinatorCheck? = nil) -> Doctor {
        let local = inputs.local, view = inputs.coordinator
        let first: [any DoctorCheck] = coordinator.map { [$0] } ?? []
        let registered = view.peer.flatMap { try? PublicKey(base64: $0.publicKey) }
        let gate = registered != nil && registered != local.publicKey ? ["keys"] : []
        var checks: [any DoctorCheck] = first + [
            KeysCheck(local: local, coordinator: view, privateKeyPath: inputs.privateKeyPath, enrolledPublicKey: inputs.enrolledPublicKey),
            AllowedIPsCheck(local: local, coordinator: view),
            RoutesCheck(interface: local.name, prefixes: inputs.routedPrefixes, routes: probes.routes),
            Gated(check: HandshakeCheck(interface: local.name, coordinator: view, reader: probes.reader, pinger: probes.pinger, udp: probes.udp,
                                        sleeper: probes.sleeper, timeout: inputs.handshakeTimeout, nowSeconds: inputs.nowSeconds), more: gate),
            Gated(check: PathMTUCheck(interface: local.name, target: inputs.probeTarget, mtu: local.mtu, pinger: probes.pinger,
                                      peerID: view.map.peerID), more: gate),
            NATKeepaliveCheck(local: local, coordinator: view, hostAddresses: inputs.hostAddresses),
        ]
        // Only where there are mesh peers: elsewhere it has nothing to say, not even a skip.
        if view.map.peers.contains(where: { $0.role == "mesh" }) {
            checks.append(MeshPathCheck(paths: inputs.meshPaths, local: local, coordinator: view, hostAddresses: inputs.hostAddresses))
        }
        checks += [ZoneCheck(map: view.map, lookup: probes.zone), ClockSkewCheck(sample: inputs.clock)]
        return Doctor(checks: checks)
    }
}

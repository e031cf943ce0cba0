import FerryCore
import WireGuard

/// How one side of a mesh link meets the internet, as far as the endpoints tell
/// (docs/mesh.md): what the gateway saw against the interface's own addresses and port.
enum MeshNATKind: Equatable {
    /// The gateway sees one of the machine's own addresses and its port: no NAT.
    case none
    /// Behind NAT that kept the port: endpoint-independent mapping is likely (Linux
    /// MASQUERADE), which simultaneous handshakes open.
    case keepsPort
    /// Behind NAT that changed the port: likely a new port per destination (symmetric, or
    /// MASQUERADE --random-fully), which hole punching cannot predict.
    case changesPort
    case unknown

    /// This machine: `seen` by the gateway, `listenPort` of the interface, `own` addresses.
    static func of(seen: HostPort?, listenPort: UInt16, own: [IPAddress]) -> MeshNATKind {
        guard let seen, let address = seen.address, listenPort != 0 else { return .unknown }
        if seen.port != listenPort { return .changesPort }
        return own.contains(address) ? .none : .keepsPort
    }

    /// The other side, from its candidates in the map (`Peer.meshCandidates`): the first is
    /// what the gateway saw; a second one at the same address with another port is the
    /// port-preserving guess, present only when the NAT changed the port; a public machine
    /// has the seen endpoint among its own (local) candidates too.
    static func of(candidates: [HostPort]) -> MeshNATKind {
        guard let seen = candidates.first, seen.address != nil else { return .unknown }
        if candidates.count > 1, candidates[1].host == seen.host, candidates[1].port != seen.port { return .changesPort }
        return candidates.dropFirst().contains(seen) || candidates.count == 1 ? .none : .keepsPort
    }

    var text: String {
        switch self {
        case .none: "not behind NAT"
        case .keepsPort: "behind a NAT that keeps the port (endpoint-independent mapping likely)"
        case .changesPort: "behind a NAT that changes the port (symmetric-like: a new port per destination)"
        case .unknown: "not known (the gateway has not reported an endpoint)"
        }
    }
}

/// Mesh links: which are direct, and for each relayed one why, and what would make it
/// direct. Reads the agent's paths (`mesh.json` in the state folder).
public struct MeshPathCheck: DoctorCheck {
    public let name = "mesh"
    let paths: [MeshPath]?
    let local: InterfaceSnapshot
    let coordinator: CoordinatorView
    let hostAddresses: [IPAddress]

    public init(paths: [MeshPath]?, local: InterfaceSnapshot, coordinator: CoordinatorView, hostAddresses: [IPAddress]) {
        self.paths = paths
        self.local = local
        self.coordinator = coordinator
        self.hostAddresses = hostAddresses
    }

    public func run() async -> DoctorResult {
        let entries = coordinator.map.peers.filter { $0.role == "mesh" }
        guard !entries.isEmpty else { return skip("no mesh peers in the map") }
        guard let paths else { return skip("the agent has recorded no mesh paths (is `ferry up` running?)") }
        let byKey = Dictionary(paths.map { ($0.publicKey, $0) }, uniquingKeysWith: { a, _ in a })
        let mine = MeshNATKind.of(seen: coordinator.peer?.seenEndpoint.flatMap { HostPort($0) }, listenPort: local.device.listenPort,
                                  own: hostAddresses)
        var direct: [String] = [], f = Findings()
        for e in entries {
            guard let p = byKey[e.publicKey] else { continue }
            if p.state == .direct { direct.append("\(e.name) via \(p.endpoint ?? "?")"); continue }
            let theirs = MeshNATKind.of(candidates: MeshPaths.candidates(of: e))
            let (why, fix) = Self.explain(peer: e.name, mine: mine, theirs: theirs, probes: p.probes, candidates: p.candidates,
                                          listenPort: local.device.listenPort)
            f.add("\(e.name) is \(p.state == .probing ? "relayed while probing" : "relayed through the gateway"): \(why)", fix: fix)
        }
        guard !f.problems.isEmpty else { return pass("direct: \(direct.joined(separator: ", "))") }
        let prefix = direct.isEmpty ? "" : "direct: \(direct.joined(separator: ", ")); "
        return warn(prefix + f.problems.joined(separator: "; "), fix: f.fixes,
                    details: ["direct": String(direct.count), "relayed": String(f.problems.count)])
    }

    /// Why a link is relayed, and what would make it direct, from both sides' NATs.
    static func explain(peer: String, mine: MeshNATKind, theirs: MeshNATKind, probes: Int, candidates: [String],
                        listenPort: UInt16) -> (String, String) {
        let sides = "this machine is \(mine.text); \(peer) is \(theirs.text)"
        let forward = "forward UDP port \(listenPort) on this machine's router to it and keep the port fixed (`ferry up --listen-port \(listenPort)`)"
        if mine == .changesPort && theirs == .changesPort {
            return ("symmetric NAT on both sides: neither end can predict the other's port (\(sides))",
                    "a NAT that maps endpoint-independently on either side (Linux: MASQUERADE without --random-fully), or \(forward)")
        }
        if mine == .changesPort || theirs == .changesPort {
            let who = mine == .changesPort ? "this machine's" : "\(peer)'s"
            return ("symmetric NAT on \(who) side: its port towards the other differs from the one the gateway saw (\(sides))",
                    "make \(who) NAT map endpoint-independently (Linux: MASQUERADE without --random-fully), or \(forward)")
        }
        if probes == 0 || candidates.isEmpty {
            return ("no candidates to probe yet (\(sides))", "wait for both agents to report (every report interval), then run ferry doctor again")
        }
        return ("\(probes) handshake round(s) to \(candidates.joined(separator: ", ")) got no answer though the NATs look "
                + "endpoint-independent (\(sides)): UDP between the two is blocked, or a NAT filters what it did not send to first",
                "allow UDP between the two machines (outbound to \(peer)'s candidates and the answers back), or \(forward)")
    }
}

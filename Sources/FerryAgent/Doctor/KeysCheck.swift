import FerryCore
import WireGuard

/// Keys agree on both ends: the key this interface uses is the one the coordinator has for
/// this peer (so the gateway, which takes its peers from the coordinator, knows it), and
/// every peer of the network map is on the interface under the key the map gives it, with
/// no peer the coordinator does not know.
public struct KeysCheck: DoctorCheck {
    public let name = "keys"
    let local: InterfaceSnapshot
    let coordinator: CoordinatorView
    /// Where the enrolled private key lives, for the fix (the agent's state).
    let privateKeyPath: String?
    /// The public half of the enrolled private key, when it could be read.
    let enrolledPublicKey: PublicKey?

    public init(local: InterfaceSnapshot, coordinator: CoordinatorView, privateKeyPath: String? = nil, enrolledPublicKey: PublicKey? = nil) {
        self.local = local
        self.coordinator = coordinator
        self.privateKeyPath = privateKeyPath
        self.enrolledPublicKey = enrolledPublicKey
    }

    public func run() async -> DoctorResult {
        let map = coordinator.map
        guard map.enabled else {
            return fail("the coordinator has disabled this peer (\(map.name)) or it has expired: its map has no peers",
                        fix: ["ask an admin to enable it again (PATCH /v1/peers/\(map.peerID) {\"enabled\":true}), or enrol again"])
        }
        var found = ownKey()
        found.append(peerKeys())
        guard found.problems.isEmpty else { return fail(found.problems.joined(separator: "; "), fix: found.fixes) }
        let names = coordinator.peers.map(\.entry.name)
        return pass("\(local.name)'s key and the keys of its peers (\(names.isEmpty ? "none" : names.joined(separator: ", "))) agree with the coordinator")
    }

    /// This interface's key against the coordinator's record of this peer.
    private func ownKey() -> Findings {
        var f = Findings()
        let iface = local.name
        let keyFile = privateKeyPath ?? "<the enrolled private key file>"
        guard let mine = local.publicKey else {
            f.add("\(iface) has no private key", fix: "`wg set \(iface) private-key \(keyFile)`, or run `ferry up`")
            return f
        }
        if let registered = coordinator.peer?.publicKey, (try? PublicKey(base64: registered)) != mine, mine == enrolledPublicKey {
            // The interface holds the enrolled key: the coordinator's record moved, not the interface.
            f.add("the coordinator has key \(String(registered.prefix(8)))… for \(coordinator.map.name), not this machine's enrolled key \(mine.short): the key was rotated elsewhere (ferry peers rotate-key), so every peer drops this machine's handshakes",
                  fix: "register a new key of this machine: `sudo ferry rotate-key` (the agent takes it at once)")
        } else if let registered = coordinator.peer?.publicKey, (try? PublicKey(base64: registered)) != mine {
            f.add("\(iface) uses key \(mine.short) but the coordinator has \(String(registered.prefix(8)))… for \(coordinator.map.name)",
                  fix: "put the enrolled key back: `wg set \(iface) private-key \(keyFile)`, or run `ferry up`")
            f.fixes.append("or, if \(iface)'s key is the one to keep, register it: POST /v1/peers/\(coordinator.map.peerID)/rotate-key")
        }
        return f
    }

    /// The map's peers against the interface's.
    private func peerKeys() -> Findings {
        var f = Findings()
        let iface = local.name
        let wanted = coordinator.peers
        let wantedKeys = Set(wanted.compactMap(\.publicKey))
        let extra = local.device.peers.filter { !wantedKeys.contains($0.publicKey) }
        let missing = wanted.filter { $0.publicKey.map { local.peer($0) == nil } ?? true }
        for m in missing where m.publicKey == nil {
            f.add("the coordinator's key for \(m.label) does not parse", fix: "tell the coordinator's admin (`ferry peers ls`)")
        }
        let missingKeys = missing.compactMap { m in m.publicKey.map { (m, $0) } }
        // One peer missing and one unknown: the same peer with a stale key.
        if missingKeys.count == 1, extra.count == 1, let (m, key) = missingKeys.first {
            f.add("\(m.label) is on \(iface) with key \(extra[0].publicKey.short); the coordinator says \(key.short)",
                  fix: "replace it: `wg set \(iface) peer \(extra[0].publicKey.base64) remove`, then PublicKey = \(key.base64) in the [Peer] of \(m.entry.name); or run `ferry up`")
            return f
        }
        for (m, key) in missingKeys {
            f.add("\(m.label) (key \(key.short)) is not on \(iface)",
                  fix: "add [Peer] PublicKey = \(key.base64) for \(m.entry.name), or run `ferry up`")
        }
        for e in extra {
            f.add("\(iface) has a peer the coordinator does not know (key \(e.publicKey.short))",
                  fix: "remove it: `wg set \(iface) peer \(e.publicKey.base64) remove`, or run `ferry up`")
        }
        return f
    }
}

/// Problems found by a check and their fixes, gathered before the verdict.
struct Findings {
    var problems: [String] = []
    var fixes: [String] = []

    mutating func add(_ problem: String, fix: String) {
        problems.append(problem)
        fixes.append(fix)
    }

    mutating func append(_ other: Findings) {
        problems += other.problems
        fixes += other.fixes
    }
}

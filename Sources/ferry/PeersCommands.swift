import ArgumentParser
import FerryAgent
import FerryCore
import Foundation

struct Peers: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List and manage peers (admin).",
        subcommands: [PeersList.self, PeersAdd.self, PeersRemove.self, PeersDisable.self, PeersEnable.self, PeersRotateKey.self],
        defaultSubcommand: PeersList.self)
}

/// One table for listings of peers.
func peersTable(_ peers: [PeerView], now: Date = Date()) -> String {
    var t = Table("NAME", "ID", "SEGMENT", "KIND", "IPV4", "STATE", "EXPIRES IN", "LAST HANDSHAKE", "OWNER")
    for p in peers {
        let ttl = p.expiresAt.map { DurationText.format(seconds: max(0, Int64($0.timeIntervalSince(now)))) }
        let hs = p.latestHandshake.map { DurationText.format(seconds: Int64(now.timeIntervalSince($0))) + " ago" }
        t.add(p.name, p.id, p.segment, p.kind, p.ipv4, p.enabled ? "enabled" : "disabled", ttl, hs, p.owner)
    }
    return t.render()
}

struct PeersList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ls", abstract: "List peers.")
    @Option(help: "Only this segment.") var segment: String?
    @Option(help: "Only this kind (device, server, ci, gateway).") var kind: String?
    @Option(help: "Only this owner.") var owner: String?
    @OptionGroup var output: OutputOptions
    @OptionGroup var admin: AdminOptions

    func run() async throws {
        try await reporting {
            let peers = try await admin.withClient { try await $0.peers(segment: segment, kind: kind, owner: owner) }
            if output.json { try Console.json(peers) } else { Console.out(peersTable(peers)) }
        }
    }
}

struct PeersAdd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add", abstract: "Add a peer; without --public-key the coordinator makes its key and the config (with it) is printed once.")
    @Argument(help: "The peer's name.") var name: String
    @Option(help: "Its segment.") var segment: String?
    @Option(name: .customLong("public-key"), help: "Its public key (its private key stays on the device).") var publicKey: String?
    @Option(help: "device (default), server or ci.") var kind: String?
    @Option(help: "Who owns it.") var owner: String?
    @Option(help: "Make it ephemeral: removed after this long (e.g. 2h).") var ttl: String?
    @Option(help: "split (default) or full.") var tunnel: String?
    @Flag(help: "Direct mesh links with other mesh peers.") var mesh = false
    @Option(name: .customLong("allowed-ip"), help: ArgumentHelp("Reach only these prefixes (within policy).", valueName: "PREFIX"))
    var allowedIPs: [String] = []
    @Option(name: .shortAndLong, help: ArgumentHelp("Write the generated config here (mode 0600) instead of printing it.", valueName: "FILE"))
    var output: String?
    @Flag(help: "Print the created peer as JSON.") var json = false
    @OptionGroup var admin: AdminOptions

    func validate() throws {
        if let ttl { try validateDuration(ttl, option: "--ttl", maxSeconds: 365 * 86400) }
    }

    func run() async throws {
        try await reporting {
            let request = CreatePeerRequest(
                name: name, kind: kind, owner: owner, segment: segment, publicKey: publicKey,
                generateKey: publicKey == nil ? true : nil, tunnel: tunnel, mesh: mesh ? true : nil,
                ttlSeconds: ttl.flatMap(DurationText.milliseconds).map { Int($0 / 1000) },
                allowedIPs: allowedIPs.isEmpty ? nil : allowedIPs)
            let created = try await admin.withClient { try await $0.createPeer(request) }
            if json { try Console.json(created.peer) } else { Console.out(peersTable([created.peer])) }
            if let config = created.config {
                if let output {
                    try AtomicFile.write(config, to: output)
                    Console.progress("config with its private key written to \(output) (0600); it is not stored anywhere else")
                } else if !json {
                    Console.progress("the config below holds the private key and is shown once")
                    Console.out(config, terminator: "")
                }
            }
        }
    }
}

struct PeersRemove: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rm", abstract: "Delete a peer.")
    @Argument(help: "The peer's name or id.") var peer: String
    @OptionGroup var admin: AdminOptions

    func run() async throws {
        try await reporting {
            let p = try await admin.withClient { c in
                let p = try await c.peer(peer)
                try await c.deletePeer(id: p.id)
                return p
            }
            Console.out("deleted '\(p.name)' (\(p.id))")
        }
    }
}

/// `disable` and `enable`: one PATCH of `enabled`.
func setEnabled(_ enabled: Bool, peer: String, admin: AdminOptions) async throws {
    try await reporting {
        let p = try await admin.withClient { c in try await c.updatePeer(id: try await c.peer(peer).id, UpdatePeerRequest(enabled: enabled)) }
        Console.out("\(enabled ? "enabled" : "disabled") '\(p.name)' (\(p.id))")
    }
}

struct PeersDisable: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "disable", abstract: "Disable a peer: it loses access at once.")
    @Argument(help: "The peer's name or id.") var peer: String
    @OptionGroup var admin: AdminOptions
    func run() async throws { try await setEnabled(false, peer: peer, admin: admin) }
}

struct PeersEnable: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "enable", abstract: "Enable a disabled peer.")
    @Argument(help: "The peer's name or id.") var peer: String
    @OptionGroup var admin: AdminOptions
    func run() async throws { try await setEnabled(true, peer: peer, admin: admin) }
}

struct PeersRotateKey: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rotate-key",
        abstract: "Give a peer a new key: its new public key, or (without one) a generated pair whose config is printed once.")
    @Argument(help: "The peer's name or id.") var peer: String
    @Option(name: .customLong("public-key"), help: "The new public key.") var publicKey: String?
    @Option(name: .shortAndLong, help: ArgumentHelp("Write the generated config here (mode 0600).", valueName: "FILE")) var output: String?
    @OptionGroup var admin: AdminOptions

    func run() async throws {
        try await reporting {
            let r = RotateKeyRequest(publicKey: publicKey, generateKey: publicKey == nil ? true : nil)
            let rotated = try await admin.withClient { c in try await c.rotateKey(peerID: try await c.peer(peer).id, r) }
            Console.out("new key for '\(rotated.peer.name)' (\(rotated.peer.id)): \(rotated.peer.publicKey)")
            if let config = rotated.config {
                if let output { try AtomicFile.write(config, to: output) } else { Console.out(config, terminator: "") }
            }
        }
    }
}

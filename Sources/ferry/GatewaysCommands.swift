import ArgumentParser
import FerryAgent
import FerryCore
import Foundation

struct Gateways: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List, add, remove gateways and rotate their keys (admin).",
        subcommands: [GatewaysList.self, GatewaysAdd.self, GatewaysRemove.self, GatewaysRotateKey.self, GatewaysToken.self], defaultSubcommand: GatewaysList.self)
}

struct GatewaysList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ls", abstract: "List gateways.")
    @OptionGroup var output: OutputOptions
    @OptionGroup var admin: AdminOptions

    func run() async throws {
        try await reporting {
            let items = try await admin.withClient { try await $0.gateways() }
            if output.json { return try Console.json(items) }
            var t = Table("NAME", "ID", "ENDPOINT", "IPV4", "SUBNETS", "STATE", "PRIORITY", "CARRIES")
            for g in items {
                t.add(g.name, g.id, g.endpoint, g.ipv4, g.subnets.joined(separator: ","),
                      (g.enabled ? "enabled" : "disabled") + (g.local ? ", local" : "") + (g.status.map { ", \($0)" } ?? ""),
                      g.priority.map(String.init) ?? "", g.active?.joined(separator: ",") ?? "")
            }
            Console.out(t.render())
        }
    }
}

struct GatewaysAdd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add", abstract: "Add a gateway: its public endpoint and the internal subnets behind it.",
        discussion: "Without --public-key the gateway is the one a ferryd hosts itself (--gateway-name NAME): ferryd fills in its key.")
    @Argument(help: "Its name.") var name: String
    @Option(help: ArgumentHelp("The HOST:PORT peers dial.", valueName: "HOST:PORT")) var endpoint: String
    @Option(name: .customLong("subnet"), help: ArgumentHelp("An internal subnet it routes (repeat).", valueName: "PREFIX")) var subnets: [String] = []
    @Flag(help: "Masquerade overlay sources leaving towards the subnets.") var masquerade = false
    @Option(name: .customLong("public-key"), help: "Its public key (a gateway not hosted by ferryd).") var publicKey: String?
    @Option(help: "Among gateways with the same subnet, the lowest priority that is up carries it (default 100).") var priority: Int?
    @OptionGroup var admin: AdminOptions

    func run() async throws {
        try await reporting {
            let g = try await admin.withClient {
                var r = CreateGatewayRequest(name: name, endpoint: endpoint, subnets: subnets.isEmpty ? nil : subnets,
                                             masquerade: masquerade ? true : nil, publicKey: publicKey)
                r.priority = priority
                return try await $0.createGateway(r)
            }
            Console.out("gateway '\(g.name)' (\(g.id)) \(g.ipv4), endpoint \(g.endpoint)")
        }
    }
}

struct GatewaysRemove: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove a gateway: peers lose their routes through it.")
    @Argument(help: "Its name or id.") var name: String
    @OptionGroup var admin: AdminOptions

    func run() async throws {
        try await reporting {
            let g = try await admin.withClient { c in
                let g = try await c.gateway(name)
                try await c.deleteGateway(id: g.id)
                return g
            }
            Console.out("gateway '\(g.name)' (\(g.id)) removed")
        }
    }
}

struct GatewaysRotateKey: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rotate-key", abstract: "Give a gateway a new key.",
        discussion: """
        The gateway ferryd hosts gets a key made in its data folder; another gateway needs its
        new --public-key. Agents take the new key at their next map; static configs (wg-quick
        files, phones) keep the old one and stop working until they are imported again: the
        output lists those peers.
        """)
    @Argument(help: "Its name or id.") var name: String
    @Option(name: .customLong("public-key"), help: "The new public key of a gateway ferryd does not host.") var publicKey: String?
    @OptionGroup var admin: AdminOptions

    func run() async throws {
        try await reporting {
            let (g, stale) = try await admin.withClient { c in
                let g = try await c.rotateGatewayKey(id: try await c.gateway(name).id, publicKey: publicKey)
                return (g, try await StaticConfigs.peers(c))
            }
            Console.out("gateway '\(g.name)' (\(g.id)) has a new key: \(g.publicKey)")
            if !stale.isEmpty {
                Console.out("static configs to import again (ferry config qr NAME --private-key-file FILE, or ferry config render NAME): \(stale.joined(separator: ", "))")
            }
        }
    }
}

/// Peers that no agent keeps up to date: those without a device token (made with `ferry
/// peers add`, used through a wg-quick file or a phone's app). A gateway key change reaches
/// them only when their config is imported again.
enum StaticConfigs {
    static func peers(_ c: CoordinatorClient) async throws(FerryError) -> [String] {
        let withAgent = Set(try await c.tokens().compactMap { $0.scope == "device" ? $0.peer : nil })
        return try await c.peers().filter { $0.kind != "gateway" && $0.kind != "ci" && !withAgent.contains($0.id) }.map(\.name)
    }
}

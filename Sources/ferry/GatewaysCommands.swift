import ArgumentParser
import FerryAgent
import FerryCore
import Foundation

struct Gateways: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List and add gateways (admin).",
        subcommands: [GatewaysList.self, GatewaysAdd.self], defaultSubcommand: GatewaysList.self)
}

struct GatewaysList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ls", abstract: "List gateways.")
    @OptionGroup var output: OutputOptions
    @OptionGroup var admin: AdminOptions

    func run() async throws {
        try await reporting {
            let items = try await admin.withClient { try await $0.gateways() }
            if output.json { return try Console.json(items) }
            var t = Table("NAME", "ID", "ENDPOINT", "IPV4", "SUBNETS", "STATE")
            for g in items {
                t.add(g.name, g.id, g.endpoint, g.ipv4, g.subnets.joined(separator: ","), (g.enabled ? "enabled" : "disabled") + (g.local ? ", local" : ""))
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
    @OptionGroup var admin: AdminOptions

    func run() async throws {
        try await reporting {
            let g = try await admin.withClient {
                try await $0.createGateway(CreateGatewayRequest(name: name, endpoint: endpoint, subnets: subnets.isEmpty ? nil : subnets,
                                                                masquerade: masquerade ? true : nil, publicKey: publicKey))
            }
            Console.out("gateway '\(g.name)' (\(g.id)) \(g.ipv4), endpoint \(g.endpoint)")
        }
    }
}

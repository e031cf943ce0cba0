import ArgumentParser
import FerryAgent
import FerryCore
import Foundation

struct Segments: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List and manage segments (admin).",
        subcommands: [SegmentsList.self, SegmentsAdd.self, SegmentsRemove.self], defaultSubcommand: SegmentsList.self)
}

struct SegmentsList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ls", abstract: "List segments.")
    @OptionGroup var output: OutputOptions
    @OptionGroup var admin: AdminOptions

    func run() async throws {
        try await reporting {
            let items = try await admin.withClient { try await $0.segments() }
            if output.json { return try Console.json(items) }
            var t = Table("NAME", "ID", "IPV4", "IPV6", "PEERS")
            for s in items { t.add(s.name, s.id, s.ipv4, s.ipv6, String(s.peers)) }
            Console.out(t.render())
        }
    }
}

struct SegmentsAdd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "add", abstract: "Add a segment.")
    @Argument(help: "Its name.") var name: String
    @Option(help: "Its IPv4 prefix (default: the first free one).") var ipv4: String?
    @Option(name: .customLong("prefix-length"), help: "The size of the prefix to pick (default 24).") var prefixLength: Int?
    @OptionGroup var admin: AdminOptions

    func run() async throws {
        try await reporting {
            let s = try await admin.withClient { try await $0.createSegment(CreateSegmentRequest(name: name, ipv4: ipv4, prefixLength: prefixLength)) }
            Console.out("segment '\(s.name)' \(s.ipv4)\(s.ipv6.map { ", \($0)" } ?? "")")
        }
    }
}

struct SegmentsRemove: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rm", abstract: "Delete an empty segment.")
    @Argument(help: "Its name.") var name: String
    @OptionGroup var admin: AdminOptions

    func run() async throws {
        try await reporting {
            try await admin.withClient { try await $0.deleteSegment(name: name) }
            Console.out("deleted segment '\(name)'")
        }
    }
}

struct Policy: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List and manage policy rules: which segment may open connections to which (admin).",
        subcommands: [PolicyList.self, PolicyAdd.self, PolicyRemove.self], defaultSubcommand: PolicyList.self)
}

struct PolicyList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ls", abstract: "List policy rules.")
    @OptionGroup var output: OutputOptions
    @OptionGroup var admin: AdminOptions

    func run() async throws {
        try await reporting {
            let items = try await admin.withClient { try await $0.rules() }
            if output.json { return try Console.json(items) }
            var t = Table("ID", "FROM", "TO", "PORTS")
            for r in items {
                t.add(r.id, r.from, r.toSegment.map { "segment \($0)" } ?? r.toSubnet.map { "subnet \($0)" } ?? r.toGateway.map { "gateway \($0)" },
                      r.ports.isEmpty ? "all" : r.ports.joined(separator: ","))
            }
            Console.out(t.render())
        }
    }
}

struct PolicyAdd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add", abstract: "Let a segment open connections to a segment, a subnet or a gateway host.",
        discussion: """
        ferry policy add developers --to-subnet 172.20.0.0/24 --ports tcp/22,tcp/443; ferry policy add developers --to-segment developers; \
        ferry policy add developers --to-gateway gw1 --ports tcp/22. Without --ports a rule opens every protocol and port.
        """)
    @Argument(help: "The segment whose peers may connect.") var from: String
    @Option(name: .customLong("to-segment"), help: "A segment they may reach.") var toSegment: String?
    @Option(name: .customLong("to-subnet"), help: "An internal subnet they may reach.") var toSubnet: String?
    @Option(name: .customLong("to-gateway"), help: "A gateway whose own host they may reach (default deny otherwise).") var toGateway: String?
    @Option(help: ArgumentHelp("Only these: tcp/22, tcp/443,8080-8090, udp/53, icmp (comma-separated; a bare port continues the protocol before it).",
                               valueName: "PORTS")) var ports: String?
    @OptionGroup var admin: AdminOptions

    func validate() throws {
        guard [toSegment, toSubnet, toGateway].compactMap({ $0 }).count == 1 else {
            throw ValidationError("give exactly one of --to-segment, --to-subnet and --to-gateway")
        }
        if let ports { do { _ = try PortSpec.parseList(ports) } catch { throw ValidationError("--ports: \(error.description)") } }
    }

    func run() async throws {
        try await reporting {
            let specs = try ports.map { try PortSpec.parseList($0).map(\.description) }
            let r = try await admin.withClient {
                try await $0.createRule(CreatePolicyRuleRequest(from: from, toSegment: toSegment, toSubnet: toSubnet, toGateway: toGateway, ports: specs))
            }
            let to = r.toSegment.map { "segment \($0)" } ?? r.toSubnet.map { "subnet \($0)" } ?? r.toGateway.map { "gateway \($0)" } ?? "?"
            Console.out("rule \(r.id): \(r.from) -> \(to)\(r.ports.isEmpty ? "" : " (" + r.ports.joined(separator: ", ") + ")")")
        }
    }
}

struct PolicyRemove: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rm", abstract: "Delete a policy rule by id.")
    @Argument(help: "The rule's id (ferry policy ls).") var id: String
    @OptionGroup var admin: AdminOptions

    func run() async throws {
        try await reporting {
            try await admin.withClient { try await $0.deleteRule(id: id) }
            Console.out("deleted rule \(id)")
        }
    }
}

struct Tokens: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List and manage API tokens (admin).",
        subcommands: [TokensList.self, TokensAdd.self, TokensRemove.self], defaultSubcommand: TokensList.self)
}

struct TokensList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ls", abstract: "List tokens (never their secrets).")
    @OptionGroup var output: OutputOptions
    @OptionGroup var admin: AdminOptions

    func run() async throws {
        try await reporting {
            let items = try await admin.withClient { try await $0.tokens() }
            if output.json { return try Console.json(items) }
            let iso = ISO8601DateFormatter()
            var t = Table("NAME", "ID", "SCOPE", "SEGMENT", "PEER", "EXPIRES", "USED", "CREATED BY")
            for k in items {
                t.add(k.name, k.id, k.scope, k.segment, k.peer, k.expiresAt.map(iso.string), k.usedAt.map(iso.string), k.createdBy)
            }
            Console.out(t.render())
        }
    }
}

struct TokensAdd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add", abstract: "Create a token; its secret is printed once.",
        discussion: "ferry tokens add runner --scope ci --segment ci --max-ttl 1h; ferry tokens add bob --scope enroll --segment developers --owner bob --expires 24h")
    @Argument(help: "Its name.") var name: String
    @Option(help: "admin, read-only, ci or enroll.") var scope: String
    @Option(help: "ci and enroll: the segment of the peers it makes.") var segment: String?
    @Option(name: .customLong("max-ttl"), help: "ci: the longest TTL it may give (e.g. 1h).") var maxTTL: String?
    @Option(help: "Expire the token after this long (e.g. 24h).") var expires: String?
    @Option(help: "enroll: the kind of the enrolled peer.") var kind: String?
    @Option(help: "enroll: the owner of the enrolled peer.") var owner: String?
    @Flag(name: .customLong("allow-full-tunnel"), help: "enroll: the device may ask for a full tunnel (internet through the gateway).")
    var allowFullTunnel = false
    @Flag(name: .customLong("allow-mesh"), help: "enroll: the device may ask for direct mesh links.") var allowMesh = false
    @OptionGroup var admin: AdminOptions

    func validate() throws {
        if let maxTTL { try validateDuration(maxTTL, option: "--max-ttl", maxSeconds: 365 * 86400) }
        if let expires { try validateDuration(expires, option: "--expires", maxSeconds: 10 * 365 * 86400) }
    }

    func run() async throws {
        try await reporting {
            let seconds = { (s: String?) in s.flatMap(DurationText.milliseconds).map { Int($0 / 1000) } }
            let created = try await admin.withClient {
                try await $0.createToken(CreateTokenRequest(name: name, scope: scope, expiresInSeconds: seconds(expires), segment: segment,
                                                            maxTTLSeconds: seconds(maxTTL), kind: kind, owner: owner,
                                                            allowFullTunnel: allowFullTunnel ? true : nil, allowMesh: allowMesh ? true : nil))
            }
            Console.progress("token '\(created.token.name)' (\(created.token.id), scope \(created.token.scope)); its secret, shown once:")
            Console.out(created.secret)
        }
    }
}

struct TokensRemove: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rm", abstract: "Revoke a token by id or name.")
    @Argument(help: "The token's id or name.") var idOrName: String
    @Flag(name: .customLong("confirm-self"), help: "It may be the token this command uses (every later call with it is refused).")
    var confirmSelf = false
    @OptionGroup var admin: AdminOptions

    func run() async throws {
        try await reporting {
            try await admin.withClient { try await $0.deleteToken(idOrName, confirmSelf: confirmSelf) }
            Console.out("revoked token '\(idOrName)'")
        }
    }
}

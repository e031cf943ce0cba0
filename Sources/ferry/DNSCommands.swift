import ArgumentParser
import FerryAgent
import FerryCore
import Foundation

struct DNS: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dns",
        abstract: "The network's DNS zone: records, the zone's name, upstream resolvers (admin).",
        discussion: "ferry dns add git CNAME git.corp.internal; ferry dns add _ssh._tcp SRV '10 5 22 alice.dev.ferry.internal'",
        subcommands: [DNSList.self, DNSAdd.self, DNSRemove.self, DNSZone.self, DNSUpstreams.self], defaultSubcommand: DNSList.self)
}

struct DNSList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ls", abstract: "Show the zone and its records.")
    @OptionGroup var output: OutputOptions
    @OptionGroup var admin: AdminOptions

    func run() async throws {
        try await reporting {
            let (network, items) = try await admin.withClient { c in (try await c.network(), try await c.dnsRecords()) }
            if output.json { return try Console.json(items) }
            Console.out("zone \(network.dnsZone ?? "?"); upstreams: \((network.dnsUpstreams ?? []).isEmpty ? "none (other names refused)" : (network.dnsUpstreams ?? []).joined(separator: ", "))")
            var t = Table("ID", "NAME", "TYPE", "VALUE", "TTL")
            for r in items { t.add(r.id, r.fqdn, r.type, r.value, String(r.ttl)) }
            Console.out(t.render())
        }
    }
}

struct DNSAdd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "add", abstract: "Add a record to the zone (A, AAAA, CNAME, SRV).")
    @Argument(help: "The name, relative to the zone (git, _ssh._tcp).") var name: String
    @Argument(help: "A, AAAA, CNAME or SRV.") var type: String
    @Argument(help: "The value: an address, a target name, or 'PRIORITY WEIGHT PORT TARGET' for SRV.") var value: String
    @Option(help: "Seconds resolvers may cache it (default 60).") var ttl: Int?
    @OptionGroup var admin: AdminOptions

    func run() async throws {
        try await reporting {
            let r = try await admin.withClient {
                try await $0.createDNSRecord(CreateDNSRecordRequest(name: name, type: type.uppercased(), value: value, ttl: ttl))
            }
            Console.out("record \(r.id): \(r.fqdn) \(r.type) \(r.value)")
        }
    }
}

struct DNSRemove: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rm", abstract: "Delete a record by id.")
    @Argument(help: "The record's id (ferry dns ls).") var id: String
    @OptionGroup var admin: AdminOptions

    func run() async throws {
        try await reporting {
            try await admin.withClient { try await $0.deleteDNSRecord(id: id) }
            Console.out("deleted record \(id)")
        }
    }
}

struct DNSZone: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "zone", abstract: "Set the zone's name ('' for the default, NETWORK.ferry.internal).")
    @Argument(help: "The zone, e.g. dev.example.internal.") var zone: String
    @OptionGroup var admin: AdminOptions

    func run() async throws {
        try await reporting {
            let n = try await admin.withClient { try await $0.updateNetwork(UpdateNetworkRequest(dnsZone: zone)) }
            Console.out("zone \(n.dnsZone ?? zone)")
        }
    }
}

struct DNSUpstreams: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "upstreams", abstract: "Set the resolvers names outside the zone are forwarded to (none: refused).")
    @Argument(help: "IP or IP:PORT, up to 4; none to refuse names outside the zone.") var resolvers: [String] = []
    @OptionGroup var admin: AdminOptions

    func run() async throws {
        try await reporting {
            let n = try await admin.withClient { try await $0.updateNetwork(UpdateNetworkRequest(dnsUpstreams: resolvers)) }
            let list = n.dnsUpstreams ?? []
            Console.out(list.isEmpty ? "no upstreams: names outside the zone are refused" : "upstreams: \(list.joined(separator: ", "))")
        }
    }
}

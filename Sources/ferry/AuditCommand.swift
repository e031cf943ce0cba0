import ArgumentParser
import FerryAgent
import FerryCore
import Foundation

struct Audit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the audit log (admin or read-only), newest last.",
        discussion: "ferry audit --since 1h --peer alice-laptop; ferry audit --actor system:reaper --json")
    @Option(help: ArgumentHelp("From this time: ISO 8601 (2025-01-31T12:00:00Z) or an age (30m, 2d).", valueName: "TIME")) var since: String?
    @Option(help: ArgumentHelp("Up to this time: ISO 8601 or an age.", valueName: "TIME")) var until: String?
    @Option(help: "Only records about this peer (name or id).") var peer: String?
    @Option(help: "Only records by this actor (token:ID, system:reaper, ...).") var actor: String?
    @Option(help: "At most this many records (1-1000).") var limit = 100
    @OptionGroup var output: OutputOptions
    @OptionGroup var admin: AdminOptions

    /// ISO 8601, or an age before now.
    static func time(_ s: String, now: Date = Date()) -> Date? {
        if let ms = DurationText.milliseconds(s) { return now.addingTimeInterval(-Double(ms) / 1000) }
        return ISO8601DateFormatter().date(from: s)
    }

    func validate() throws {
        if let since, Audit.time(since) == nil { throw ValidationError("--since must be ISO 8601 or an age like 30m") }
        if let until, Audit.time(until) == nil { throw ValidationError("--until must be ISO 8601 or an age like 30m") }
        guard (1...1000).contains(limit) else { throw ValidationError("--limit must be 1 to 1000") }
    }

    func run() async throws {
        try await reporting {
            let (events, names) = try await admin.withClient { c in
                // A deleted peer no longer resolves by name: then the text is taken as an id.
                var peerID = peer
                if let peer, !peer.hasPrefix("p_"), !peer.hasPrefix("gw_") { peerID = try await c.peer(peer).id }
                let events = try await c.audit(.init(since: since.flatMap { Audit.time($0) }, until: until.flatMap { Audit.time($0) },
                                                     peer: peerID, actor: actor, limit: limit))
                if output.json { return (events, AuditNames(events: [])) }
                // Names for the ids; a read-only token may not list tokens, which then show as ids.
                return (events, AuditNames(events: events, peers: (try? await c.peers()) ?? [], gateways: (try? await c.gateways()) ?? [],
                                           tokens: (try? await c.tokens()) ?? []))
            }
            if output.json { return try Console.json(events) }
            let iso = ISO8601DateFormatter()
            var t = Table("SEQ", "AT", "ACTOR", "ACTION", "OBJECT", "PEER")
            for e in events {
                t.add(String(e.seq), iso.string(from: e.at), names.actor(e.actor), e.action, names.object(e.objectType, e.objectID), names.peer(e.peer))
            }
            Console.out(t.render())
        }
    }
}

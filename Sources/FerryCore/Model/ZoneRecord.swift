import FerryDNS
import WireGuard

/// The record types an admin may add to the network's zone (docs/dns.md).
public enum ZoneRecordType: String, Codable, Sendable, CaseIterable {
    case A, AAAA, CNAME, SRV
}

/// What an admin-managed record holds, parsed from its zone-file text.
public enum ZoneRecordValue: Sendable, Equatable {
    case address(IPAddress)
    case target(DNSName)
    case service(priority: UInt16, weight: UInt16, port: UInt16, target: DNSName)

    /// `10.0.0.5`, `git.corp.internal`, `10 5 22 alice` (SRV: priority weight port target).
    /// A relative target (no dot) is completed with `zone` when resolved, as in a zone file.
    public static func parse(_ text: String, type: ZoneRecordType) -> ZoneRecordValue? {
        switch type {
        case .A:
            guard let a = IPAddress(text), a.isIPv4 else { return nil }
            return .address(a)
        case .AAAA:
            guard let a = IPAddress(text), !a.isIPv4 else { return nil }
            return .address(a)
        case .CNAME:
            return DNSName(text).map { .target($0) }
        case .SRV:
            let parts = text.split(separator: " ", omittingEmptySubsequences: true)
            guard parts.count == 4, let p = UInt16(parts[0]), let w = UInt16(parts[1]), let port = UInt16(parts[2]),
                  let t = DNSName(String(parts[3])) else { return nil }
            return .service(priority: p, weight: w, port: port, target: t)
        }
    }

    public var text: String {
        switch self {
        case .address(let a): a.description
        case .target(let n): n.key
        case .service(let p, let w, let port, let t): "\(p) \(w) \(port) \(t.key)"
        }
    }
}

/// One admin-managed record: `name` is relative to the zone (`git`, `_ssh._tcp`).
public struct ZoneRecord: Sendable, Equatable, Identifiable {
    public var id: String
    public var name: DNSName
    public var type: ZoneRecordType
    public var value: ZoneRecordValue
    public var ttl: Int

    public init(id: String, name: DNSName, type: ZoneRecordType, value: ZoneRecordValue, ttl: Int) {
        self.id = id; self.name = name; self.type = type; self.value = value; self.ttl = ttl
    }
}

extension NetworkSettings {
    /// The zone ferryd answers for: the configured one, else `NAME.ferry.internal`.
    public var zone: DNSName {
        if let z = dnsZone, let n = DNSName(z) { return n }
        return DNSName("\(name).ferry.internal") ?? DNSName("ferry.internal") ?? .root
    }
}

extension PolicyCompiler {
    /// The overlay address of the hub gateway when ferryd runs it and so answers DNS
    /// there; nil when no gateway answers (then peers are not told of a DNS server).
    public var dnsServer: IPAddress? {
        guard let hub, hub.gateway.servesDNS else { return nil }
        return .v4(hub.peer.ipv4)
    }

    /// What a peer's wg-quick `DNS =` line and its agent's split DNS use: the server and
    /// the zone, then the admin's own resolvers.
    public func dnsLine(for peer: Peer) -> [String] {
        let extra = (peer.dns ?? topology.network.dns).map(\.description)
        guard let server = dnsServer else { return extra }
        return [server.description] + extra.filter { $0 != server.description } + [topology.network.zone.key]
    }
}

import FerryDNS
import Foundation
import WireGuard

/// POST /v1/dns/records.
public struct CreateDNSRecordRequest: StrictDecodable, Codable, Sendable {
    /// Relative to the zone: `git`, `_ssh._tcp`, `build.ci`.
    public var name: String
    public var type: String
    /// Zone-file text: `10.0.0.5`, `fd00::5`, `git.corp.internal`, `10 5 22 alice` (SRV).
    public var value: String
    public var ttl: Int?
    public enum CodingKeys: String, CodingKey, CaseIterable { case name, type, value, ttl }
    public init(name: String, type: String, value: String, ttl: Int? = nil) {
        self.name = name; self.type = type; self.value = value; self.ttl = ttl
    }
}

public struct DNSRecordView: Codable, Sendable, Equatable {
    public var id: String
    public var name: String
    /// The full name, in the zone.
    public var fqdn: String
    public var type: String
    public var value: String
    public var ttl: Int
    public init(id: String, name: String, fqdn: String, type: String, value: String, ttl: Int) {
        self.id = id; self.name = name; self.fqdn = fqdn; self.type = type; self.value = value; self.ttl = ttl
    }
}

extension Validate {
    /// A zone: a DNS name of letters, digits, `-` and `_`, at least two labels (a
    /// one-label zone would capture a top-level domain). "" means "the default".
    public static func zone(_ s: String, field: String = "dnsZone") throws(APIError) -> String {
        if s.isEmpty { return "" }
        guard let n = DNSName(s), n.labels.count >= 2 else {
            throw .invalid(field, "'\(s)' is not a DNS zone like dev.ferry.internal (at least two labels)")
        }
        // Room for PEER.SEGMENT below it (63 bytes each).
        guard n.wireLength <= DNSName.maxWireLength - 128 else { throw .invalid(field, "at most 127 bytes, to leave room for peer names") }
        return n.key
    }

    /// Upstream resolvers: IP:PORT (or a bare IP, port 53).
    public static func upstreams(_ list: [String], field: String = "dnsUpstreams") throws(APIError) -> [HostPort] {
        guard list.count <= 4 else { throw .invalid(field, "at most 4 resolvers") }
        var out: [HostPort] = []
        for (i, s) in list.enumerated() {
            let hp = IPAddress(s).flatMap { HostPort(host: $0.description, port: 53) } ?? HostPort(s)
            guard let hp, hp.address != nil else { throw .invalid("\(field)[\(i)]", "'\(s)' is not an IP address or IP:PORT") }
            out.append(hp)
        }
        return out
    }

    public static func recordName(_ s: String, field: String = "name") throws(APIError) -> DNSName {
        guard let n = DNSName(s), !n.labels.isEmpty, n.wireLength <= 128 else {
            throw .invalid(field, "'\(s)' is not a name relative to the zone (letters, digits, '-', '_', dots; at most 127 bytes)")
        }
        return DNSName(labels: n.labels.map { $0.map { $0 >= 0x41 && $0 <= 0x5a ? $0 | 0x20 : $0 } }) ?? n
    }

    public static func recordTTL(_ n: Int, field: String = "ttl") throws(APIError) -> Int {
        guard (0...86400).contains(n) else { throw .invalid(field, "must be between 0 and 86400 seconds") }
        return n
    }
}

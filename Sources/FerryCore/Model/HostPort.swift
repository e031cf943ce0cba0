import WireGuard

/// A UDP endpoint as a user writes it: an IP address or a DNS name, and a port
/// (`gw.example.com:51820`, `203.0.113.7:51820`, `[2001:db8::1]:51820`).
///
/// WireGuard's own `Endpoint` holds addresses only; a gateway's public endpoint is often a
/// name that wg-quick resolves on the peer, so it is kept as written.
public struct HostPort: Hashable, Sendable, CustomStringConvertible, Codable {
    public let host: String
    public let port: UInt16

    public init?(host: String, port: UInt16) {
        guard port != 0, HostPort.isValidHost(host) else { return nil }
        self.host = host
        self.port = port
    }

    /// `HOST:PORT`, with IPv6 in brackets.
    public init?(_ text: some StringProtocol) {
        if let e = Endpoint(text) {
            self.init(host: e.address.description, port: e.port)
            return
        }
        guard !text.hasPrefix("["), let colon = text.lastIndex(of: ":") else { return nil }
        let host = String(text[..<colon])
        let portText = text[text.index(after: colon)...]
        guard !portText.isEmpty, portText.count <= 5, portText.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }),
              let port = UInt16(portText) else { return nil }
        self.init(host: host, port: port)
    }

    public init(_ endpoint: Endpoint) {
        host = endpoint.address.description
        port = endpoint.port
    }

    /// The address when `host` is an IP literal.
    public var address: IPAddress? { IPAddress(host) }

    public var description: String {
        if case .v6 = address { return "[\(host)]:\(port)" }
        return "\(host):\(port)"
    }

    /// RFC 1123 host names (letters, digits, hyphens, dots; labels 1–63, total ≤ 253) or an IP literal.
    static func isValidHost(_ host: String) -> Bool {
        if IPAddress(host) != nil { return true }
        guard !host.isEmpty, host.utf8.count <= 253 else { return false }
        for label in host.split(separator: ".", omittingEmptySubsequences: false) {
            guard !label.isEmpty, label.utf8.count <= 63, !label.hasPrefix("-"), !label.hasSuffix("-"),
                  label.utf8.allSatisfy({ ($0 >= 48 && $0 <= 57) || ($0 >= 65 && $0 <= 90) || ($0 >= 97 && $0 <= 122) || $0 == 45 })
            else { return false }
        }
        return true
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let v = HostPort(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not HOST:PORT"))
        }
        self = v
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}

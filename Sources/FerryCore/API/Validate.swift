import WireGuard

/// Parsing of request fields into typed values; every failure names its field. The CLI
/// can run the same checks before it sends anything.
public enum Validate {
    /// Names of networks, segments, peers, gateways and tokens: 1–63 characters of
    /// letters, digits, `-`, `_`, `.`, starting with a letter or digit.
    public static func name(_ s: String, field: String = "name") throws(APIError) -> String {
        let u = s.utf8
        guard !u.isEmpty, u.count <= 63 else { throw .invalid(field, "must be 1 to 63 characters") }
        func ok(_ c: UInt8) -> Bool { (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) }
        guard let first = u.first, ok(first), u.allSatisfy({ ok($0) || $0 == 45 || $0 == 95 || $0 == 46 }) else {
            throw .invalid(field, "only letters, digits, '-', '_' and '.', starting with a letter or digit")
        }
        return s
    }

    /// Free text such as an owner: up to 128 printable characters.
    public static func label(_ s: String, field: String) throws(APIError) -> String {
        guard s.unicodeScalars.count <= 128, !s.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw .invalid(field, "must be at most 128 printable characters")
        }
        return s
    }

    public static func prefix(_ s: String, field: String, family: Int? = nil, networkForm: Bool = true) throws(APIError) -> IPPrefix {
        guard s.contains("/"), let p = IPPrefix(s) else { throw .invalid(field, "'\(s)' is not an address prefix like 10.0.0.0/24") }
        if family == 4, !p.address.isIPv4 { throw .invalid(field, "must be an IPv4 prefix") }
        if family == 6, p.address.isIPv4 { throw .invalid(field, "must be an IPv6 prefix") }
        if networkForm, !p.isNetwork { throw .invalid(field, "'\(s)' has host bits set; did you mean \(p.network)?") }
        return p
    }

    public static func prefixes(_ list: [String], field: String) throws(APIError) -> [IPPrefix] {
        guard list.count <= 256 else { throw .invalid(field, "at most 256 prefixes") }
        var out: [IPPrefix] = []
        for (i, s) in list.enumerated() { out.append(try prefix(s, field: "\(field)[\(i)]")) }
        return out
    }

    public static func publicKey(_ s: String, field: String = "publicKey") throws(APIError) -> PublicKey {
        guard let k = try? PublicKey(base64: s) else { throw .invalid(field, "not a WireGuard public key (44 characters of base64)") }
        guard !k.isZero else { throw .invalid(field, "the all-zero key is not a key") }
        return k
    }

    public static func addresses(_ list: [String], field: String) throws(APIError) -> [IPAddress] {
        guard list.count <= 8 else { throw .invalid(field, "at most 8 addresses") }
        var out: [IPAddress] = []
        for (i, s) in list.enumerated() {
            guard let a = IPAddress(s) else { throw .invalid("\(field)[\(i)]", "'\(s)' is not an IP address") }
            out.append(a)
        }
        return out
    }

    public static func mtu(_ n: Int, field: String = "mtu") throws(APIError) -> Int {
        guard (1280...9000).contains(n) else { throw .invalid(field, "must be between 1280 and 9000") }
        return n
    }

    public static func keepalive(_ n: Int, field: String = "keepalive") throws(APIError) -> Int {
        guard (0...3600).contains(n) else { throw .invalid(field, "must be between 0 (off) and 3600 seconds") }
        return n
    }

    public static func port(_ n: Int, field: String) throws(APIError) -> UInt16 {
        guard (1...65535).contains(n) else { throw .invalid(field, "must be between 1 and 65535") }
        return UInt16(n)
    }

    public static func endpoint(_ s: String, field: String = "endpoint") throws(APIError) -> HostPort {
        guard let e = HostPort(s) else { throw .invalid(field, "'\(s)' is not HOST:PORT") }
        return e
    }

    /// An agent's local mesh candidates: at most `Peer.maxLocalCandidates`, each an IP
    /// literal with a port (a name would make every mesh peer resolve it).
    public static func meshCandidates(_ list: [String], field: String = "candidates") throws(APIError) -> [HostPort] {
        guard list.count <= Peer.maxLocalCandidates else {
            throw .invalid(field, "at most \(Peer.maxLocalCandidates) addresses")
        }
        var out: [HostPort] = []
        for s in list {
            guard let e = HostPort(s), e.address != nil else { throw .invalid(field, "'\(s)' is not ADDRESS:PORT") }
            if !out.contains(e) { out.append(e) }
        }
        return out
    }

    public static func enumValue<E: RawRepresentable & CaseIterable>(_ s: String, _: E.Type, field: String) throws(APIError) -> E
        where E.RawValue == String
    {
        guard let v = E(rawValue: s) else {
            throw .invalid(field, "must be one of \(E.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return v
    }
}

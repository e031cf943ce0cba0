import WireGuard

/// The network's IPv6 addresses mirror its IPv4 ones: a peer at offset `n` of the IPv4
/// prefix gets offset `n` of the IPv6 prefix (10.10.1.5 in 10.10.0.0/16 with
/// fd12:3456:789a::/48 is fd12:3456:789a::105). One allocator serves both families and a
/// peer's two addresses can never disagree.
public struct AddressPlan: Sendable, Equatable {
    public let ipv4: IPPrefix
    public let ipv6: IPPrefix?

    public init(ipv4: IPPrefix, ipv6: IPPrefix?) {
        self.ipv4 = ipv4.network
        self.ipv6 = ipv6?.network
    }

    /// Why a pair of prefixes cannot form a plan.
    public static func validate(ipv4: IPPrefix, ipv6: IPPrefix?) -> (field: String, message: String)? {
        guard case .v4 = ipv4.address else { return ("ipv4", "must be an IPv4 prefix") }
        guard ipv4.length >= 8, ipv4.length <= 30 else { return ("ipv4", "prefix length must be between 8 and 30") }
        if let ipv6 {
            guard case .v6 = ipv6.address else { return ("ipv6", "must be an IPv6 prefix") }
            let hostBits = 32 - ipv4.length
            guard ipv6.length <= 128 - hostBits else {
                return ("ipv6", "prefix /\(ipv6.length) too long to mirror a /\(ipv4.length): at most /\(128 - hostBits)")
            }
        }
        return nil
    }

    /// The IPv6 address mirroring `v4`, when the network has IPv6 and `v4` is inside it.
    public func ipv6(for v4: IPv4Address) -> IPv6Address? {
        guard let ipv6, case .v6(let base) = ipv6.address, case .v4(let net) = ipv4.address,
              ipv4.contains(.v4(v4)) else { return nil }
        let offset = UInt64(v4.value - net.value)
        let (low, carry) = base.low.addingReportingOverflow(offset)
        return IPv6Address(high: base.high &+ (carry ? 1 : 0), low: low)
    }

    /// The IPv6 prefix mirroring a slice of the IPv4 prefix.
    public func ipv6(for v4: IPPrefix) -> IPPrefix? {
        guard case .v4(let a) = v4.network.address, let v6 = ipv6(for: a) else { return nil }
        return IPPrefix(.v6(v6), 128 - (32 - v4.length))
    }

    /// Both host prefixes of a peer (/32 and, with IPv6, /128).
    public func hostPrefixes(_ v4: IPv4Address) -> [IPPrefix] {
        var out: [IPPrefix] = [IPPrefix(.v4(v4), 32)].compactMap { $0 }
        if let v6 = ipv6(for: v4), let p = IPPrefix(.v6(v6), 128) { out.append(p) }
        return out
    }

    /// A slice of the IPv4 prefix and its IPv6 mirror.
    public func prefixes(_ v4: IPPrefix) -> [IPPrefix] {
        [v4.network] + [ipv6(for: v4)].compactMap { $0 }
    }

    /// Interface addresses of a peer as wg-quick writes them.
    public func interfaceAddresses(_ v4: IPv4Address, prefixLength: Bool = false) -> [IPPrefix] {
        guard prefixLength else { return hostPrefixes(v4) }
        var out: [IPPrefix] = [IPPrefix(.v4(v4), ipv4.length)].compactMap { $0 }
        if let v6 = ipv6(for: v4), let len = ipv6?.length, let p = IPPrefix(.v6(v6), len) { out.append(p) }
        return out
    }
}

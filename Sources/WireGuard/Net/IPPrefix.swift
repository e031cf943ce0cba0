/// An address with a prefix length, as in AllowedIPs (`10.0.0.0/24`, `fd00::/64`).
///
/// The address is kept as written; `network` masks off the host bits. AllowedIPs use the
/// network form (what `wg` prints), interface addresses the written form.
public struct IPPrefix: Hashable, Sendable, Comparable, CustomStringConvertible {
    public let address: IPAddress
    public let length: Int

    /// nil when `length` is outside 0...32 (IPv4) or 0...128 (IPv6).
    public init?(_ address: IPAddress, _ length: Int) {
        guard length >= 0, length <= address.bitWidth else { return nil }
        self.address = address
        self.length = length
    }

    /// `ADDRESS/LENGTH`; a bare address means a host prefix (/32 or /128), as wg accepts.
    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let address = IPAddress(parts[0]) else { return nil }
        if parts.count == 1 {
            self.init(address, address.bitWidth)
            return
        }
        let digits = parts[1]
        guard !digits.isEmpty, digits.count <= 3, digits.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }),
              let length = Int(digits) else { return nil }
        self.init(address, length)
    }

    /// The prefix with host bits cleared.
    public var network: IPPrefix {
        IPPrefix(unchecked: IPPrefix.mask(address, length), length)
    }

    /// True when `address` has no host bits set.
    public var isNetwork: Bool { IPPrefix.mask(address, length) == address }

    public func contains(_ other: IPAddress) -> Bool {
        switch (address, other) {
        case (.v4, .v4), (.v6, .v6): return IPPrefix.mask(other, length) == IPPrefix.mask(address, length)
        default: return false
        }
    }

    /// True when every address of `other` is inside this prefix.
    public func contains(_ other: IPPrefix) -> Bool {
        other.length >= length && contains(other.address)
    }

    public func overlaps(_ other: IPPrefix) -> Bool {
        contains(other.address) || other.contains(address)
    }

    public var description: String { "\(address)/\(length)" }

    public static func < (a: Self, b: Self) -> Bool { (a.address, a.length) < (b.address, b.length) }

    init(unchecked address: IPAddress, _ length: Int) {
        self.address = address
        self.length = length
    }

    static func mask(_ a: IPAddress, _ length: Int) -> IPAddress {
        switch a {
        case .v4(let v):
            let m: UInt32 = length == 0 ? 0 : ~0 << UInt32(32 - min(length, 32))
            return .v4(IPv4Address(v.value & m))
        case .v6(let v):
            let hl = min(max(length, 0), 64), ll = min(max(length - 64, 0), 64)
            let hm: UInt64 = hl == 0 ? 0 : ~0 << UInt64(64 - hl)
            let lm: UInt64 = ll == 0 ? 0 : ~0 << UInt64(64 - ll)
            return .v6(IPv6Address(high: v.high & hm, low: v.low & lm))
        }
    }
}

/// A UDP endpoint: an address and a port, and for IPv6 a scope (the interface index a
/// link-local address belongs to; 0 for none). IPv6 is written `[addr]:port`, with a scope
/// `[fe80::1%2]:port`; parsing also takes an interface name (`[fe80::1%eth0]:port`), which
/// `Endpoint.zoneResolver` turns into its index.
public struct Endpoint: Hashable, Sendable, CustomStringConvertible {
    public var address: IPAddress
    public var port: UInt16
    public var scope: UInt32

    public init(address: IPAddress, port: UInt16, scope: UInt32 = 0) {
        self.address = address
        self.port = port
        self.scope = scope
    }

    /// Turns an interface name into its index (nil: no such interface). The core does no
    /// I/O, so only numeric scopes parse until the platform layer sets this, once, before
    /// any thread parses (WireGuardLinux sets if_nametoindex).
    nonisolated(unsafe) public static var zoneResolver: @Sendable (Substring) -> UInt32? = { _ in nil }

    /// `1.2.3.4:51820`, `[fd00::1]:51820` or `[fe80::1%eth0]:51820` (host names are
    /// resolved above the core).
    public init?(_ text: some StringProtocol) {
        let s = Substring(text)
        let hostPart: Substring, portPart: Substring
        if s.hasPrefix("[") {
            guard let close = s.firstIndex(of: "]") else { return nil }
            hostPart = s[s.index(after: s.startIndex)..<close]
            let rest = s[s.index(after: close)...]
            guard rest.hasPrefix(":") else { return nil }
            portPart = rest.dropFirst()
            var scope: UInt32 = 0
            var addressPart = hostPart
            if let percent = hostPart.firstIndex(of: "%") {
                addressPart = hostPart[..<percent]
                let zone = hostPart[hostPart.index(after: percent)...]
                guard let index = Endpoint.scope(zone) else { return nil }
                scope = index
            }
            guard let a = IPv6Address(addressPart) else { return nil }
            guard let port = Endpoint.parsePort(portPart) else { return nil }
            self.init(address: .v6(a), port: port, scope: scope)
            return
        }
        guard let colon = s.lastIndex(of: ":") else { return nil }
        hostPart = s[..<colon]
        portPart = s[s.index(after: colon)...]
        guard let a = IPv4Address(hostPart), let port = Endpoint.parsePort(portPart) else { return nil }
        self.init(address: .v4(a), port: port)
    }

    /// A zone: a non-zero interface index, or a name the resolver knows.
    static func scope(_ zone: Substring) -> UInt32? {
        guard !zone.isEmpty, zone.utf8.count < 16 else { return nil }
        if zone.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) {
            guard let index = UInt32(zone), index > 0 else { return nil }
            return index
        }
        return zoneResolver(zone)
    }

    static func parsePort(_ s: Substring) -> UInt16? {
        guard !s.isEmpty, s.count <= 5, s.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return nil }
        return UInt16(s)
    }

    public var description: String {
        switch address {
        case .v4(let a): "\(a):\(port)"
        case .v6(let a): scope == 0 ? "[\(a)]:\(port)" : "[\(a)%\(scope)]:\(port)"
        }
    }
}

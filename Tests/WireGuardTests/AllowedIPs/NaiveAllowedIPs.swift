@testable import WireGuard

/// A deliberately naive model of AllowedIPs, in the spirit of the kernel selftest's
/// "horrible_allowedips": one dictionary per prefix length, probed longest first, and a
/// plain array per value for the order of its prefixes.
struct NaiveAllowedIPs {
    struct V6: Hashable { var high: UInt64; var low: UInt64 }

    var v4 = [[UInt32: Int]](repeating: [:], count: 33)
    var v6 = [[V6: Int]](repeating: [:], count: 129)
    var lists: [Int: [IPPrefix]] = [:]
    var count = 0

    static func mask4(_ length: Int) -> UInt32 { length == 0 ? 0 : ~0 << UInt32(32 - length) }

    static func mask6(_ a: IPv6Address, _ length: Int) -> V6 {
        let h = length >= 64 ? UInt64.max : (length == 0 ? 0 : ~0 << UInt64(64 - length))
        let l = length <= 64 ? 0 : (length == 128 ? UInt64.max : ~0 << UInt64(128 - length))
        return V6(high: a.high & h, low: a.low & l)
    }

    static func network(_ p: IPPrefix) -> IPPrefix {
        switch p.address {
        case .v4(let a): return IPPrefix(unchecked: .v4(IPv4Address(a.value & mask4(p.length))), p.length)
        case .v6(let a):
            let m = mask6(a, p.length)
            return IPPrefix(unchecked: .v6(IPv6Address(high: m.high, low: m.low)), p.length)
        }
    }

    func owner(_ p: IPPrefix) -> Int? {
        switch p.address {
        case .v4(let a): v4[p.length][a.value & Self.mask4(p.length)]
        case .v6(let a): v6[p.length][Self.mask6(a, p.length)]
        }
    }

    private mutating func setOwner(_ p: IPPrefix, _ value: Int?) {
        switch p.address {
        case .v4(let a): v4[p.length][a.value & Self.mask4(p.length)] = value
        case .v6(let a): v6[p.length][Self.mask6(a, p.length)] = value
        }
    }

    mutating func insert(_ p: IPPrefix, _ value: Int) {
        let net = Self.network(p)
        if let old = owner(net) {
            lists[old]?.removeAll { $0 == net }
        } else {
            count += 1
        }
        setOwner(net, value)
        lists[value, default: []].append(net)
    }

    mutating func remove(_ p: IPPrefix, _ value: Int) -> Bool {
        let net = Self.network(p)
        guard owner(net) == value else { return false }
        setOwner(net, nil)
        lists[value]?.removeAll { $0 == net }
        count -= 1
        return true
    }

    mutating func removeAll(_ value: Int) {
        for net in lists[value] ?? [] { setOwner(net, nil) }
        count -= lists[value]?.count ?? 0
        lists[value] = nil
    }

    func lookup(_ address: IPAddress) -> Int? {
        switch address {
        case .v4(let a):
            for length in stride(from: 32, through: 0, by: -1) where !v4[length].isEmpty {
                if let v = v4[length][a.value & Self.mask4(length)] { return v }
            }
        case .v6(let a):
            for length in stride(from: 128, through: 0, by: -1) where !v6[length].isEmpty {
                if let v = v6[length][Self.mask6(a, length)] { return v }
            }
        }
        return nil
    }
}

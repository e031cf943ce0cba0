import WireGuard

/// Hands out host addresses of one IPv4 prefix: never the network or broadcast address,
/// never one that `isTaken` reports held. Next-fit from a cursor, so a freed address is
/// reused only after the pool has gone round once (a departed peer's address does not
/// pass straight to a newcomer).
public struct AddressPool: Sendable, Equatable {
    public let prefix: IPPrefix
    private let first: UInt32
    private let last: UInt32

    public init?(_ prefix: IPPrefix) {
        guard case .v4(let net) = prefix.network.address, prefix.length <= 32 else { return nil }
        self.prefix = prefix.network
        let size: UInt64 = 1 << UInt64(32 - prefix.length)
        let lastRaw = UInt64(net.value) + size - 1
        if prefix.length >= 31 {
            // RFC 3021: /31 and /32 have no network or broadcast address.
            first = net.value
            last = UInt32(lastRaw)
        } else {
            first = net.value + 1
            last = UInt32(lastRaw - 1)
        }
    }

    /// How many addresses the pool can hold.
    public var capacity: Int { Int(last - first) + 1 }

    /// True when `address` is one this pool may hand out.
    public func isAssignable(_ address: IPv4Address) -> Bool {
        address.value >= first && address.value <= last
    }

    /// The first free address at or after `cursor` (wrapping), and the cursor to use next
    /// time; nil when every address is taken.
    public func allocate(after cursor: IPv4Address?, isTaken: (IPv4Address) throws -> Bool) rethrows
        -> (address: IPv4Address, next: IPv4Address)?
    {
        var candidate = cursor.map { isAssignable($0) ? $0.value : first } ?? first
        for _ in 0..<capacity {
            let address = IPv4Address(candidate)
            let next = candidate == last ? first : candidate + 1
            if try !isTaken(address) { return (address, IPv4Address(next)) }
            candidate = next
        }
        return nil
    }
}

/// Cuts the network prefix into segments: finds the first free slice of a length that
/// overlaps none of the existing ones.
public enum SegmentCarver {
    public static func firstFree(in network: IPPrefix, length: Int, existing: [IPPrefix]) -> IPPrefix? {
        guard case .v4(let net) = network.network.address, length >= network.length, length <= 30 else { return nil }
        let step: UInt64 = 1 << UInt64(32 - length)
        let count: UInt64 = 1 << UInt64(length - network.length)
        var i: UInt64 = 0
        while i < count {
            let v = UInt64(net.value) + i * step
            if let candidate = IPPrefix(.v4(IPv4Address(UInt32(v))), length),
               !existing.contains(where: { $0.overlaps(candidate) }) {
                return candidate
            }
            i += 1
        }
        return nil
    }
}

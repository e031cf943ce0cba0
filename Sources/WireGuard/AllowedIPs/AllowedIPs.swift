/// Cryptokey routing's table: longest-prefix match from IPv4 and IPv6 prefixes to values
/// (peers), as the kernel's allowedips.c.
///
/// A path-compressed binary trie per address family. Nodes live in one array and point
/// at each other by index, so a lookup follows indices and allocates nothing. Each prefix
/// belongs to at most one value; inserting a prefix that is there already moves it to the
/// new value. Host bits are masked on insert. Each value keeps its prefixes in a list in
/// the order the kernel and wireguard-go keep them (and `wg showconf` shows them):
/// insertion order, where inserting an existing prefix again moves it to the end.
public struct AllowedIPs<Value: Hashable & Sendable>: Sendable {
    typealias Node = AllowedIPsNode

    /// A value and its list of prefix nodes.
    @usableFromInline
    struct Slot: Sendable {
        @usableFromInline var value: Value?
        var head: Int32 = -1
        var tail: Int32 = -1
        var count = 0
    }

    @usableFromInline var nodes: [AllowedIPsNode] = []
    var freeNodes: [Int32] = []
    @usableFromInline var root4: Int32 = -1
    @usableFromInline var root6: Int32 = -1
    @usableFromInline var slots: [Slot] = []
    var freeSlots: [Int32] = []
    var slotOfValue: [Value: Int32] = [:]

    /// The number of prefixes in the table.
    public internal(set) var count = 0

    public init() {}

    public var isEmpty: Bool { count == 0 }

    /// Nodes in use, including those that only join two subtrees (for tests).
    var nodeCount: Int { nodes.count - freeNodes.count }

    // MARK: Lookup

    /// The value whose prefix is the longest one containing `address`.
    @inlinable
    public func lookup(_ address: IPAddress) -> Value? {
        switch address {
        case .v4: find(TrieKey(address), root: root4, bits: 32)
        case .v6: find(TrieKey(address), root: root6, bits: 128)
        }
    }

    /// Lookup from an address as it sits in a packet: 4 bytes (IPv4) or 16 bytes (IPv6),
    /// network order. Any other length finds nothing.
    @inlinable
    public func lookup(bytes: UnsafeRawBufferPointer) -> Value? {
        switch bytes.count {
        case 4:
            return find(TrieKey(v4: UInt32(bigEndian: bytes.loadUnaligned(as: UInt32.self))), root: root4, bits: 32)
        case 16:
            let high = UInt64(bigEndian: bytes.loadUnaligned(as: UInt64.self))
            let low = UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
            return find(TrieKey(high: high, low: low), root: root6, bits: 128)
        default:
            return nil
        }
    }

    @inlinable
    func find(_ key: TrieKey, root: Int32, bits: Int32) -> Value? {
        var index = root
        var found: Int32 = -1
        while index >= 0 {
            let node = nodes[Int(index)]
            if key.commonBits(node.key) < node.cidr { break }
            if node.slot >= 0 { found = node.slot }
            if node.cidr == bits { break }
            index = key.bit(Int(node.cidr)) == 0 ? node.child0 : node.child1
        }
        return found >= 0 ? slots[Int(found)].value : nil
    }

    // MARK: Listing

    /// The prefixes of `value`, in the table's order for it (see the type's description).
    public func prefixes(of value: Value) -> [IPPrefix] {
        guard let slot = slotOfValue[value] else { return [] }
        var result: [IPPrefix] = []
        result.reserveCapacity(slots[Int(slot)].count)
        var index = slots[Int(slot)].head
        while index >= 0 {
            let node = nodes[Int(index)]
            result.append(IPPrefix(unchecked: node.key.address(v6: node.isV6), Int(node.cidr)))
            index = node.next
        }
        return result
    }

    /// The values that have at least one prefix.
    public var values: [Value] { Array(slotOfValue.keys) }
}

/// A trie node. Outside the generic type so its layout is known without `Value`, and
/// visible to inlinable lookups so callers in other modules get specialized code.
@usableFromInline
struct AllowedIPsNode: Sendable {
    @usableFromInline var key: TrieKey
    @usableFromInline var cidr: Int32
    var isV6: Bool
    @usableFromInline var child0: Int32 = -1
    @usableFromInline var child1: Int32 = -1
    var parent: Int32 = -1
    /// Index into `slots`, or -1 for a node that only joins two subtrees.
    @usableFromInline var slot: Int32
    /// Neighbours in the slot's list of prefixes.
    var previous: Int32 = -1
    var next: Int32 = -1

    init(key: TrieKey, cidr: Int32, isV6: Bool, slot: Int32) {
        self.key = key
        self.cidr = cidr
        self.isV6 = isV6
        self.slot = slot
    }
}

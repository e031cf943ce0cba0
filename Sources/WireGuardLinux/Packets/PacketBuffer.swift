import CFerryLinux
import WireGuard

/// One slot of a `PacketBufferPool`, lent out: a pointer to the slot's record, so it is as
/// cheap to pass around (and to queue per peer) as a pointer. Whoever holds it owns the
/// slot until it goes back with `pool.release`. Copies of the handle share the slot.
///
/// The packet is `bytes`, a window `offset..<offset+count` of the slot. Room in front
/// (`headroom`) and behind (`tailroom`) lets the device encrypt in place: `prepend(16)`
/// for the message header, `append(16)` for the Poly1305 tag.
public struct PacketBuffer: @unchecked Sendable, Equatable {
    @usableFromInline let record: UnsafeMutablePointer<ferry_packet>

    @inlinable init(_ record: UnsafeMutablePointer<ferry_packet>) { self.record = record }

    /// The slot's number in its pool.
    @inlinable public var slot: Int { Int(record.pointee.index) }
    /// The slot's size.
    @inlinable public var capacity: Int { Int(record.pointee.capacity) }
    /// Where the packet starts in the slot.
    @inlinable public var offset: Int { Int(record.pointee.offset) }
    /// The packet's length.
    @inlinable public var count: Int { Int(record.pointee.length) }
    @inlinable public var headroom: Int { offset }
    @inlinable public var tailroom: Int { capacity - offset - count }

    /// The packet's bytes.
    @inlinable public var bytes: UnsafeMutableRawBufferPointer {
        UnsafeMutableRawBufferPointer(start: record.pointee.data + offset, count: count)
    }

    /// The whole slot, for code that lays a packet out itself.
    @inlinable public var slotBytes: UnsafeMutableRawBufferPointer {
        UnsafeMutableRawBufferPointer(start: record.pointee.data, count: capacity)
    }

    /// The slot from `front` bytes before the packet to the slot's end: the buffer the
    /// core's in-place calls take (`Device.prepareSend(packetIn:length:)` wants the packet
    /// 16 bytes in and the padding and tag room behind it). nil when the headroom is smaller.
    @inlinable public func window(front: Int) -> UnsafeMutableRawBufferPointer? {
        guard front >= 0, front <= offset else { return nil }
        return UnsafeMutableRawBufferPointer(start: record.pointee.data + (offset - front), count: capacity - offset + front)
    }

    /// Makes the packet `slot[offset..<offset+count]`. Returns false and changes nothing
    /// when that is not inside the slot.
    @inlinable @discardableResult
    public func setRange(offset: Int, count: Int) -> Bool {
        guard offset >= 0, count >= 0, offset <= capacity, count <= capacity - offset else { return false }
        record.pointee.offset = UInt32(offset)
        record.pointee.length = UInt32(count)
        return true
    }

    /// Grows the packet by `n` bytes in front (into the headroom); false when there is no room.
    @inlinable @discardableResult
    public func prepend(_ n: Int) -> Bool { n >= 0 && n <= offset && setRange(offset: offset - n, count: count + n) }

    /// Grows the packet by `n` bytes at the end (into the tailroom); false when there is no room.
    @inlinable @discardableResult
    public func append(_ n: Int) -> Bool { n >= 0 && n <= tailroom && setRange(offset: offset, count: count + n) }

    /// Drops `n` bytes from the front (they become headroom); false when shorter.
    @inlinable @discardableResult
    public func removeFirst(_ n: Int) -> Bool { n >= 0 && n <= count && setRange(offset: offset + n, count: count - n) }

    /// Drops `n` bytes from the end; false when shorter.
    @inlinable @discardableResult
    public func removeLast(_ n: Int) -> Bool { n >= 0 && n <= count && setRange(offset: offset, count: count - n) }

    /// Copies `source` in as the packet, `headroom` bytes into the slot; false when it does
    /// not fit.
    @discardableResult
    public func assign(_ source: UnsafeRawBufferPointer, headroom: Int = 0) -> Bool {
        guard setRange(offset: headroom, count: source.count) else { return false }
        if let base = source.baseAddress, source.count > 0 {
            bytes.baseAddress!.copyMemory(from: base, byteCount: source.count)
        }
        return true
    }

    /// The packet's bytes as an array (tests, logging; never the packet path).
    public var array: [UInt8] { Array(bytes) }

    /// The remote end: the source of a received datagram, the destination of one to send.
    /// nil when unset. An IPv4-mapped IPv6 address is stored as IPv4, so it leaves through
    /// the IPv4 socket.
    public var endpoint: Endpoint? {
        get { record.pointee.remote.endpoint }
        nonmutating set { record.pointee.remote = ferry_address(newValue) }
    }

    /// The local address a datagram arrived on (from IP_PKTINFO/IPV6_PKTINFO), and the
    /// source to send from when set ("sticky sockets"): replies then leave from the address
    /// the peer talks to, which matters on hosts with several addresses. nil: the kernel
    /// picks by route. The send path clears it if the kernel refuses it (address gone).
    public var local: LocalAddress? {
        get { record.pointee.local.localAddress }
        nonmutating set { record.pointee.local = ferry_address(newValue) }
    }
}

/// A local address and the interface it belongs to.
public struct LocalAddress: Hashable, Sendable, CustomStringConvertible {
    public var address: IPAddress
    public var interfaceIndex: UInt32

    public init(address: IPAddress, interfaceIndex: UInt32) {
        self.address = address
        self.interfaceIndex = interfaceIndex
    }

    public var description: String { "\(address)%\(interfaceIndex)" }
}

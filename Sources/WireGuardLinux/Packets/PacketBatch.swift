import CFerryLinux

/// An ordered list of up to `capacity` buffers from one pool: what one batched read fills
/// and one batched write sends. Reused call after call, so it allocates only when made.
/// Owned by one thread at a time.
///
/// Reading: `refill()` tops the batch up from the pool, a read fills packets `0..<n` and
/// returns n (the others stay as spare buffers for the next read). The device then
/// `detach`es the packets it hands to other stages and calls `refill()` again; detached
/// places are removed when the batch is refilled or read into again.
///
/// Writing: `append` buffers (from anywhere in the pool), write, then `releaseAll()`.
public final class PacketBatch: @unchecked Sendable {
    public let pool: PacketBufferPool
    public let capacity: Int
    let slots: UnsafeMutablePointer<UInt32>
    /// Places in use, detached ones included.
    private var used = 0
    private var detached = 0

    private static let hole = UInt32.max

    public init(pool: PacketBufferPool, capacity: Int) {
        precondition(capacity > 0, "a batch holds at least one buffer")
        self.pool = pool
        self.capacity = capacity
        slots = .allocate(capacity: capacity)
    }

    deinit {
        releaseAll()
        slots.deallocate()
    }

    /// Places in the batch; detached places count until the next `compact` (which
    /// `refill`, reads and writes do first).
    public var count: Int { used }
    public var isEmpty: Bool { used == 0 }

    /// Whether the place at `index` was detached.
    public func isDetached(_ index: Int) -> Bool { index >= 0 && index < used && slots[index] == PacketBatch.hole }

    /// The buffer at `index` in 0..<count. Traps on a detached place.
    @inlinable public subscript(index: Int) -> PacketBuffer { buffer(at: index) }

    @usableFromInline func buffer(at index: Int) -> PacketBuffer {
        precondition(index >= 0 && index < used && slots[index] != PacketBatch.hole, "PacketBatch index out of range")
        return pool.buffer(slots[index])
    }

    /// Takes the buffer at `index` out of the batch (the caller owns it now); its place
    /// stays empty until the next `compact`, so the indices of the others do not move.
    public func detach(at index: Int) -> PacketBuffer {
        let buffer = buffer(at: index)
        slots[index] = PacketBatch.hole
        detached += 1
        return buffer
    }

    /// Adds a buffer at the end; false when full.
    @discardableResult public func append(_ buffer: PacketBuffer) -> Bool {
        guard used < capacity else { return false }
        slots[used] = UInt32(buffer.slot)
        used += 1
        return true
    }

    /// Removes detached places, keeping the order of the rest.
    public func compact() {
        guard detached > 0 else { return }
        var kept = 0
        for i in 0..<used where slots[i] != PacketBatch.hole {
            slots[kept] = slots[i]
            kept += 1
        }
        used = kept
        detached = 0
    }

    /// Tops the batch up to `capacity` from the pool (one lock). With `wait`, blocks until
    /// the batch holds at least one buffer or the pool is closed. Returns `count`.
    @discardableResult public func refill(wait: Bool = false) -> Int {
        compact()
        used += pool.take(capacity - used, into: slots + used, wait: wait && used == 0)
        return used
    }

    /// Returns every buffer to the pool (one lock) and empties the batch.
    public func releaseAll() {
        compact()
        pool.release(slots, count: used)
        used = 0
    }

    /// Sets every buffer's window to `offset = headroom`, as long as the slot allows with
    /// `tailroom` bytes left behind: the room a read may fill.
    func prepareForReading(headroom: Int, tailroom: Int) -> Int {
        compact()
        let room = pool.slotSize - headroom - tailroom
        precondition(headroom >= 0 && tailroom >= 0 && room > 0, "headroom and tailroom leave no room in the slot")
        for i in 0..<used {
            let record = pool.records + Int(slots[i])
            record.pointee.offset = UInt32(headroom)
            record.pointee.length = UInt32(room)
        }
        return room
    }

    /// The C shims' view: the pool's records and this batch's slot numbers.
    func withSlots<T>(_ body: (UnsafeMutablePointer<ferry_packet>, UnsafePointer<UInt32>, Int) throws -> T) rethrows -> T {
        compact()
        return try body(pool.records, UnsafePointer(slots), used)
    }

    /// As `withSlots`, for a call that may reorder the batch's buffers (a permutation of
    /// `slots[0..<count]`: the same buffers, in another order).
    func withSlotsReordering<T>(_ body: (UnsafeMutablePointer<ferry_packet>, UnsafeMutablePointer<UInt32>, Int) throws -> T) rethrows -> T {
        compact()
        return try body(pool.records, slots, used)
    }
}

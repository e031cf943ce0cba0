import CFerryLinux
import Glibc

/// A bounded pool of packet buffers: one contiguous allocation cut into `slotCount`
/// fixed-size slots, and one metadata record per slot (offset, length, endpoints).
/// Nothing is allocated per packet; a slot travels between threads as a `PacketBuffer`
/// (a pointer to its record) and comes back with `release`.
///
/// Bounded means back-pressure: when every slot is lent out, `take` returns nothing (or,
/// with `wait`, blocks until one comes back), so a stalled stage slows its producers down
/// instead of growing memory. Slots are reused last-in first-out, which keeps the hot
/// ones in cache and leaves untouched pages of a large pool out of the resident set.
///
/// The pool must outlive every buffer it lent out.
public final class PacketBufferPool: @unchecked Sendable {
    public let slotSize: Int
    public let slotCount: Int

    private let storage: UnsafeMutableRawPointer
    let records: UnsafeMutablePointer<ferry_packet>
    private let free: UnsafeMutablePointer<UInt32>
    private var freeCount: Int
    private var closed = false
    private let lock = ConditionLock()

    /// Slots are aligned to 64 bytes when `slotSize` is a multiple of 64 (2048 for
    /// MTU-sized packets with headroom; 65536 + headroom for GSO super-packets later).
    public init(slotCount: Int, slotSize: Int) {
        precondition(slotCount > 0 && slotCount < Int(UInt32.max), "slotCount out of range")
        precondition(slotSize > 0 && slotSize <= Int(UInt32.max), "slotSize out of range")
        self.slotCount = slotCount
        self.slotSize = slotSize
        storage = UnsafeMutableRawPointer.allocate(byteCount: slotCount * slotSize, alignment: 4096)
        records = .allocate(capacity: slotCount)
        free = .allocate(capacity: slotCount)
        let base = storage.assumingMemoryBound(to: UInt8.self)
        for i in 0..<slotCount {
            var record = ferry_packet()
            record.data = base + i * slotSize
            record.capacity = UInt32(slotSize)
            record.index = UInt32(i)
            (records + i).initialize(to: record)
            // Lowest slots on top of the stack, so a lightly used pool touches few pages.
            free[i] = UInt32(slotCount - 1 - i)
        }
        freeCount = slotCount
    }

    deinit {
        records.deinitialize(count: slotCount)
        records.deallocate()
        free.deallocate()
        storage.deallocate()
    }

    /// Slots currently in the pool.
    public var available: Int { lock.withLock { freeCount } }

    /// One buffer (offset and length 0, no endpoints), or nil when all are lent out.
    public func take() -> PacketBuffer? {
        lock.withLock { () -> PacketBuffer? in
            guard freeCount > 0 else { return nil }
            freeCount -= 1
            return lend(free[freeCount])
        }
    }

    /// Moves up to `count` buffers into `out` under one lock. With `wait`, blocks until at
    /// least one is available or the pool is closed. Returns how many were taken.
    func take(_ count: Int, into out: UnsafeMutablePointer<UInt32>, wait: Bool) -> Int {
        guard count > 0 else { return 0 }
        return lock.withLock {
            while wait, freeCount == 0, !closed { lock.wait() }
            let n = min(count, freeCount)
            for i in 0..<n {
                freeCount -= 1
                let slot = free[freeCount]
                _ = lend(slot)
                out[i] = slot
            }
            return n
        }
    }

    /// Returns a buffer. Releasing one twice, or one from another pool, is a programming
    /// error and traps: it would hand the same memory to two owners.
    public func release(_ buffer: PacketBuffer) {
        let slot = checkedSlot(buffer)
        lock.withLock {
            giveBack(slot)
            if freeCount == 1 { lock.broadcast() }
        }
    }

    /// Returns `count` slots under one lock.
    func release(_ slots: UnsafePointer<UInt32>, count: Int) {
        guard count > 0 else { return }
        lock.withLock {
            let wasEmpty = freeCount == 0
            for i in 0..<count { giveBack(slots[i]) }
            if wasEmpty { lock.broadcast() }
        }
    }

    /// Wakes every thread waiting in `take(wait:)`; they return with what is there (maybe
    /// nothing), now and from then on. For shutdown.
    public func close() {
        lock.withLock {
            closed = true
            lock.broadcast()
        }
    }

    @inline(__always) func buffer(_ slot: UInt32) -> PacketBuffer { PacketBuffer(records + Int(slot)) }

    private func lend(_ slot: UInt32) -> PacketBuffer {
        let record = records + Int(slot)
        record.pointee.state = 1
        record.pointee.offset = 0
        record.pointee.length = 0
        record.pointee.remote.family = 0
        record.pointee.local.family = 0
        return PacketBuffer(record)
    }

    private func checkedSlot(_ buffer: PacketBuffer) -> UInt32 {
        let i = buffer.record - records
        precondition(i >= 0 && i < slotCount, "PacketBuffer released to a pool it does not belong to")
        return UInt32(i)
    }

    private func giveBack(_ slot: UInt32) {
        let record = records + Int(slot)
        precondition(Int(slot) < slotCount && record.pointee.state == 1, "PacketBuffer released twice")
        record.pointee.state = 0
        free[freeCount] = slot
        freeCount += 1
    }
}

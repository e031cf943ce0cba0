import Testing
import WireGuard
@testable import WireGuardLinux

@Suite struct PacketBufferPoolTests {
    @Test func takesAtMostSlotCountAndReusesReleasedSlots() {
        let pool = PacketBufferPool(slotCount: 4, slotSize: 256)
        var taken: [PacketBuffer] = []
        while let b = pool.take() { taken.append(b) }
        #expect(taken.count == 4)
        #expect(pool.available == 0)
        #expect(Set(taken.map(\.slot)) == [0, 1, 2, 3])
        // Slots do not overlap and lie in one allocation.
        let starts = taken.map { Int(bitPattern: $0.slotBytes.baseAddress) }.sorted()
        for (a, b) in zip(starts, starts.dropFirst()) { #expect(b - a == 256) }

        let address = taken[2].slotBytes.baseAddress
        pool.release(taken[2])
        #expect(pool.available == 1)
        let again = pool.take()
        #expect(again?.slotBytes.baseAddress == address)
        #expect(pool.take() == nil)
    }

    @Test func batchRefillIsBoundedByThePool() {
        let pool = PacketBufferPool(slotCount: 10, slotSize: 128)
        let a = PacketBatch(pool: pool, capacity: 8)
        let b = PacketBatch(pool: pool, capacity: 8)
        #expect(a.refill() == 8)
        #expect(b.refill() == 2)
        #expect(pool.available == 0)
        a.releaseAll()
        #expect(pool.available == 8)
        #expect(b.refill() == 8)
        #expect(pool.available == 2)
    }

    @Test func detachedBuffersLeaveTheBatchAndRefillReplacesThem() {
        let pool = PacketBufferPool(slotCount: 6, slotSize: 128)
        let batch = PacketBatch(pool: pool, capacity: 4)
        batch.refill()
        let second = batch[1]
        let fourth = batch[3]
        let first = batch[0], third = batch[2]
        #expect(batch.detach(at: 1) == second)
        #expect(batch.detach(at: 3) == fourth)
        #expect(batch.isDetached(1))
        #expect(batch[2] == third)  // indices do not move before compaction
        batch.compact()
        #expect(batch.count == 2)
        #expect(batch[0] == first && batch[1] == third)
        #expect(batch.refill() == 4)
        #expect(pool.available == 0)
        pool.release(second)
        pool.release(fourth)
        #expect(pool.available == 2)
    }

    @Test func waitingRefillBlocksUntilABufferComesBack() throws {
        let pool = PacketBufferPool(slotCount: 1, slotSize: 64)
        let held = try #require(pool.take())
        let batch = PacketBatch(pool: pool, capacity: 4)
        let done = BlockingQueue<Int>()
        let thread = try IOThread(name: "refill") { done.push(batch.refill(wait: true)) }
        #expect(done.pop(until: .after(seconds: 0.1)) == nil)
        pool.release(held)
        #expect(done.pop(until: .after(seconds: 5)) == 1)
        thread.join()
    }

    @Test func closingThePoolWakesWaiters() throws {
        let pool = PacketBufferPool(slotCount: 1, slotSize: 64)
        let held = try #require(pool.take())
        let batch = PacketBatch(pool: pool, capacity: 4)
        let done = BlockingQueue<Int>()
        let thread = try IOThread(name: "refill") { done.push(batch.refill(wait: true)) }
        pool.close()
        #expect(done.pop(until: .after(seconds: 5)) == 0)
        thread.join()
        pool.release(held)
    }

    @Test func rangesStayInsideTheSlot() throws {
        let pool = PacketBufferPool(slotCount: 1, slotSize: 100)
        let p = try #require(pool.take())
        #expect(p.setRange(offset: 16, count: 60))
        #expect(p.headroom == 16 && p.tailroom == 24)
        #expect(p.prepend(16) && p.offset == 0 && p.count == 76)
        #expect(!p.prepend(1))
        #expect(p.append(24) && p.tailroom == 0)
        #expect(!p.append(1))
        #expect(!p.setRange(offset: 101, count: 0))
        #expect(!p.setRange(offset: 50, count: 51))
        #expect(!p.setRange(offset: -1, count: 1))
        #expect(p.offset == 0 && p.count == 100)  // failed calls changed nothing
        #expect(p.removeFirst(10) && p.offset == 10 && p.count == 90)
        #expect(p.removeLast(90) && p.count == 0)
        #expect(!p.removeLast(1))
        let payload: [UInt8] = [1, 2, 3, 4, 5]
        #expect(payload.withUnsafeBytes { p.assign($0, headroom: 32) })
        #expect(p.array == payload && p.offset == 32)
        #expect(!payload.withUnsafeBytes { p.assign($0, headroom: 96) })
        pool.release(p)
    }

    @Test func theWindowForTheCoreStartsInTheHeadroomAndRunsToTheSlotEnd() throws {
        let pool = PacketBufferPool(slotCount: 1, slotSize: 128)
        let p = try #require(pool.take())
        p.setRange(offset: 16, count: 60)
        let window = try #require(p.window(front: 16))
        #expect(window.baseAddress == p.slotBytes.baseAddress && window.count == 128)
        #expect(p.window(front: 4)?.count == 116)
        #expect(p.window(front: 17) == nil)
        // What the device does after sealing n bytes in place.
        #expect(p.setRange(offset: p.offset - 16, count: 60 + 16 + 16))
        pool.release(p)
    }

    @Test func endpointsRoundTripAndMappedIPv4IsStoredAsIPv4() throws {
        let pool = PacketBufferPool(slotCount: 1, slotSize: 64)
        let p = try #require(pool.take())
        #expect(p.endpoint == nil)
        for text in ["192.0.2.7:51820", "[2001:db8::1]:443", "[fe80::1:2:3:4]:1"] {
            let e = try #require(Endpoint(text))
            p.endpoint = e
            #expect(p.endpoint == e)
        }
        p.endpoint = Endpoint("[::ffff:198.51.100.9]:53")
        #expect(p.endpoint == Endpoint("198.51.100.9:53"))
        p.local = LocalAddress(address: IPAddress("10.0.0.1")!, interfaceIndex: 3)
        #expect(p.local == LocalAddress(address: IPAddress("10.0.0.1")!, interfaceIndex: 3))
        p.endpoint = nil
        #expect(p.endpoint == nil)
        pool.release(p)
        // A buffer comes out of the pool clean.
        let q = try #require(pool.take())
        #expect(q.endpoint == nil && q.local == nil && q.count == 0)
        pool.release(q)
    }
}

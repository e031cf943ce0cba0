import Glibc
import Testing
import WireGuard
@testable import WireGuardLinux

@Suite struct MemoryTUNTests {
    @Test func deliversInOrderInBatches() throws {
        let tun = MemoryTUN()
        for i in 0..<100 { #expect(tun.inject([UInt8(i), 0xaa, UInt8(i)])) }
        let pool = PacketBufferPool(slotCount: 32, slotSize: 128)
        let batch = PacketBatch(pool: pool, capacity: 16)
        var seen: [UInt8] = []
        while seen.count < 100 {
            batch.refill()
            let n = try tun.read(into: batch, headroom: 16, tailroom: 16)
            #expect(n <= 16 && n > 0)
            for i in 0..<n {
                #expect(batch[i].offset == 16 && batch[i].count == 3)
                seen.append(batch[i].bytes[0])
            }
        }
        #expect(seen == (0..<100).map(UInt8.init))
    }

    @Test func aBlockedReadWakesOnInjectAndOnClose() throws {
        let tun = MemoryTUN()
        let pool = PacketBufferPool(slotCount: 8, slotSize: 128)
        let results = BlockingQueue<String>()
        let reader = try IOThread(name: "tun-rx") {
            let batch = PacketBatch(pool: pool, capacity: 4)
            while true {
                batch.refill()
                do {
                    let n = try tun.read(into: batch, headroom: 0, tailroom: 0)
                    results.push("read \(n): \(batch[0].array)")
                } catch {
                    results.push("\(error)")
                    return
                }
            }
        }
        #expect(results.pop(until: .after(seconds: 0.05)) == nil)
        tun.inject([1, 2, 3])
        #expect(results.pop(until: .after(seconds: 5)) == "read 1: [1, 2, 3]")
        tun.close()
        #expect(results.pop(until: .after(seconds: 5)) == TUNError.closed.description)
        reader.join()
        #expect(throws: TUNError.closed) { try tun.mtu() }
    }

    @Test func writesReachTheHostAndTooLongPacketsAreReportedEmpty() throws {
        let tun = MemoryTUN(mtu: 1280)
        let pool = PacketBufferPool(slotCount: 4, slotSize: 64)
        let batch = PacketBatch(pool: pool, capacity: 2)
        batch.refill()
        batch[0].setRange(offset: 8, count: 4)
        batch[0].bytes.copyBytes(from: [9, 8, 7, 6])
        batch[1].setRange(offset: 0, count: 0)
        #expect(try tun.write(batch) == WriteOutcome(written: 2))
        #expect(tun.takeWritten(until: .after(seconds: 1)) == [9, 8, 7, 6])
        #expect(tun.takeWritten(until: .after(seconds: 1)) == [])
        batch.releaseAll()
        tun.inject([UInt8](repeating: 5, count: 100))
        batch.refill()
        #expect(try tun.read(into: batch, headroom: 16, tailroom: 16) == 1)
        #expect(batch[0].count == 0)
    }

    @Test func deletionEndsReadsAndLinkEvents() throws {
        let tun = MemoryTUN(name: "memdel")
        let events = tun.linkEvents
        tun.setMTU(1400)
        tun.setMTU(1400)  // no change, no event
        tun.setRunning(true)
        tun.delete()
        #expect(events.next() == .mtuChanged(1400))
        #expect(events.next() == .up)
        #expect(events.next() == .deleted)
        #expect(events.next() == nil)
        let pool = PacketBufferPool(slotCount: 2, slotSize: 64)
        let batch = PacketBatch(pool: pool, capacity: 1)
        batch.refill()
        #expect(throws: TUNError.interfaceGone("memdel")) { try tun.read(into: batch, headroom: 0, tailroom: 0) }
        #expect(throws: TUNError.interfaceGone("memdel")) { try tun.write(batch) }
    }
}

@Suite struct MemoryNetworkTests {
    let a4 = IPAddress("192.0.2.1")!, b4 = IPAddress("192.0.2.2")!
    let a6 = IPAddress("2001:db8::1")!, b6 = IPAddress("2001:db8::2")!

    func send(_ bind: any UDPBind, _ payloads: [[UInt8]], to destination: Endpoint?, pool: PacketBufferPool) throws -> WriteOutcome {
        let batch = PacketBatch(pool: pool, capacity: payloads.count)
        batch.refill()
        for (i, payload) in payloads.enumerated() {
            payload.withUnsafeBytes { _ = batch[i].assign($0) }
            batch[i].endpoint = destination
        }
        defer { batch.releaseAll() }
        return try bind.send(batch)
    }

    @Test func datagramsCarryTheirEndpointsInOrder() throws {
        let network = MemoryNetwork()
        let a = network.bind(addresses: [a4, a6]), b = network.bind(addresses: [b4, b6])
        let pa = try a.open(port: 0), pb = try b.open(port: 51820)
        #expect(pb.port == 51820 && pa.port != 0)
        #expect(pa.receivers.map(\.family) == [.ipv4, .ipv6])
        let pool = PacketBufferPool(slotCount: 64, slotSize: 256)
        let payloads = (0..<20).map { [UInt8($0)] }
        #expect(try send(a, payloads, to: Endpoint(address: b6, port: 51820), pool: pool) == WriteOutcome(written: 20))
        let batch = PacketBatch(pool: pool, capacity: 32)
        batch.refill()
        let receiver6 = pb.receivers[1]
        #expect(try receiver6.receive(into: batch, headroom: 4) == 20)
        for i in 0..<20 {
            #expect(batch[i].array == [UInt8(i)] && batch[i].offset == 4)
            #expect(batch[i].endpoint == Endpoint(address: a6, port: pa.port))
            #expect(batch[i].local?.address == b6)
        }
        // Nobody listens there: the datagram is lost, not an error.
        #expect(try send(a, [[1]], to: Endpoint(address: b4, port: 9), pool: pool).written == 1)
        #expect(network.lost == 1 && network.delivered == 20)
        #expect(try send(a, [[1]], to: nil, pool: pool).failed == 1)
        #expect(throws: BindError.addressInUse(51820)) { try network.bind(addresses: [b4]).open(port: 51820) }
    }

    @Test func closeWakesReceiversAndFreesThePort() throws {
        let network = MemoryNetwork()
        let b = network.bind(addresses: [b4])
        let opening = try b.open(port: 4000)
        let pool = PacketBufferPool(slotCount: 4, slotSize: 64)
        let results = BlockingQueue<String>()
        let thread = try IOThread(name: "mem-rx") {
            let batch = PacketBatch(pool: pool, capacity: 2)
            batch.refill()
            do { _ = try opening.receivers[0].receive(into: batch, headroom: 0); results.push("returned") } catch { results.push("\(error)") }
        }
        usleep(20_000)
        b.close()
        #expect(results.pop(until: .after(seconds: 5)) == "\(BindError.closed)")
        thread.join()
        #expect(try network.bind(addresses: [b4]).open(port: 4000).port == 4000)
    }

    @Test func movingAHostChangesItsSourceAddress() throws {
        let network = MemoryNetwork()
        let a = network.bind(addresses: [a4]), b = network.bind(addresses: [b4])
        let pa = try a.open(port: 0), pb = try b.open(port: 0)
        let pool = PacketBufferPool(slotCount: 8, slotSize: 64)
        let moved = IPAddress("198.51.100.7")!
        try a.move(to: [moved])
        _ = try send(a, [[7]], to: Endpoint(address: b4, port: pb.port), pool: pool)
        let batch = PacketBatch(pool: pool, capacity: 2)
        batch.refill()
        #expect(try pb.receivers[0].receive(into: batch, headroom: 0) == 1)
        #expect(batch[0].endpoint == Endpoint(address: moved, port: pa.port))
        batch.releaseAll()
        // And it receives on the new address only.
        _ = try send(b, [[8]], to: Endpoint(address: moved, port: pa.port), pool: pool)
        _ = try send(b, [[9]], to: Endpoint(address: a4, port: pa.port), pool: pool)
        batch.refill()
        #expect(try pa.receivers[0].receive(into: batch, headroom: 0) == 1)
        #expect(batch[0].array == [8])
        #expect(network.lost == 1)
    }

    @Test func aFilterDropsDatagrams() throws {
        let network = MemoryNetwork()
        network.setFilter { _, _, bytes in bytes.first != 0xde }
        let a = network.bind(addresses: [a4]), b = network.bind(addresses: [b4])
        _ = try a.open(port: 0)
        let pb = try b.open(port: 0)
        let pool = PacketBufferPool(slotCount: 8, slotSize: 64)
        _ = try send(a, [[0xde], [0xad]], to: Endpoint(address: b4, port: pb.port), pool: pool)
        let batch = PacketBatch(pool: pool, capacity: 4)
        batch.refill()
        #expect(try pb.receivers[0].receive(into: batch, headroom: 0) == 1)
        #expect(batch[0].array == [0xad])
        #expect(network.lost == 1)
    }
}

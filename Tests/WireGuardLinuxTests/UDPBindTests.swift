import Glibc
import Synchronization
import Testing
import WireGuard
@testable import WireGuardLinux

@Suite struct UDPBindTests {
    /// Sends `total` numbered datagrams from one bind to another through the loopback
    /// address of `family` and checks every one arrives once, in order, with the right
    /// endpoints. The sender keeps at most `window` in flight so that nothing depends on
    /// the socket buffer being large (it is only large as root). `length` gives each
    /// datagram's size: runs of equal sizes go out as UDP GSO groups.
    func exchange(family: AddressFamily, total: Int = 10_000, length: @escaping @Sendable (Int) -> Int = { 100 + $0 % 400 },
                  expectCoalesced: Bool = false, receiveBatch: Int = 128) throws {
        let loopback = family == .ipv4 ? IPAddress("127.0.0.1")! : IPAddress("::1")!
        let receiverBind = LinuxUDPBind(), senderBind = LinuxUDPBind()
        defer { receiverBind.close(); senderBind.close() }
        let rx = try receiverBind.open(port: 0), tx = try senderBind.open(port: 0)
        #expect(rx.port != 0 && tx.port != 0 && rx.port != tx.port)
        #expect(rx.receivers.map(\.family) == [.ipv4, .ipv6])
        let receiver = try #require(rx.receivers.first { $0.family == family })
        let destination = Endpoint(address: loopback, port: rx.port)

        let received = Atomic<Int>(0)
        let problems = BlockingQueue<String>()
        let pool = PacketBufferPool(slotCount: 512, slotSize: 2048)
        let thread = try IOThread(name: "udp-rx") {
            let batch = PacketBatch(pool: pool, capacity: receiveBatch)
            var expected = 0
            while expected < total {
                batch.refill(wait: true)
                let n: Int
                do { n = try receiver.receive(into: batch, headroom: 16) } catch { problems.push("receive: \(error)"); return }
                for i in 0..<n {
                    let p = batch[i]
                    let number = p.bytes.loadUnaligned(as: UInt32.self)
                    if number != UInt32(expected) { problems.push("got \(number), expected \(expected)") }
                    if p.count != length(expected) { problems.push("length \(p.count) for \(expected)") }
                    if p.offset != 16 { problems.push("offset \(p.offset)") }
                    if p.endpoint != Endpoint(address: loopback, port: tx.port) { problems.push("source \(String(describing: p.endpoint))") }
                    if p.local?.address != loopback { problems.push("local \(String(describing: p.local))") }
                    expected += 1
                }
                received.store(expected, ordering: .releasing)
            }
        }
        let batch = PacketBatch(pool: pool, capacity: 128)
        var sent = 0
        let deadline = MonotonicTime.after(seconds: 60)
        while sent < total, MonotonicTime.now() < deadline {
            if sent - received.load(ordering: .acquiring) > 1000 { usleep(200); continue }
            batch.refill()
            let n = min(batch.count, total - sent)
            for i in 0..<n {
                let p = batch[i]
                p.setRange(offset: 0, count: length(sent + i))
                p.bytes.storeBytes(of: UInt32(sent + i), as: UInt32.self)
                p.endpoint = destination
            }
            while batch.count > n { pool.release(batch.detach(at: batch.count - 1)); batch.compact() }
            let outcome = try senderBind.send(batch)
            #expect(outcome == WriteOutcome(written: n))
            batch.releaseAll()
            sent += n
        }
        while received.load(ordering: .acquiring) < total, MonotonicTime.now() < deadline { usleep(1000) }
        receiverBind.close()
        thread.join()
        #expect(received.load(ordering: .acquiring) == total)
        if expectCoalesced, let linux = receiver as? LinuxUDPReceiver {
            // GSO on the way out and GRO on the way in: datagrams travelled together.
            #expect(linux.receivesCoalesced)
            #expect(linux.coalescedDatagrams > 0)
        }
        var reported = 0
        while let problem = problems.pop(until: .after(seconds: 0)), reported < 5 {
            Issue.record("\(family): \(problem)")
            reported += 1
        }
    }

    @Test func tenThousandDatagramsOverIPv4() throws { try exchange(family: .ipv4) }
    @Test func tenThousandDatagramsOverIPv6() throws { try exchange(family: .ipv6) }
    /// Mostly equal sizes with a shorter one now and then (which ends a GSO group).
    @Test func gsoGroupsOverIPv4() throws { try exchange(family: .ipv4, length: { $0 % 10 == 9 ? 300 : 1200 }, expectCoalesced: true) }
    /// Coalesced datagrams into batches too small for them: the rest waits for the next
    /// receive, in order.
    @Test func gsoGroupsIntoSmallBatches() throws {
        try exchange(family: .ipv4, total: 3000, length: { $0 % 10 == 9 ? 300 : 1200 }, expectCoalesced: true, receiveBatch: 8)
    }
    @Test func gsoGroupsOverIPv6() throws { try exchange(family: .ipv6, length: { $0 % 10 == 9 ? 300 : 1200 }, expectCoalesced: true) }

    @Test func closeWakesABlockedReceiverPromptlyAndForGood() throws {
        let bind = LinuxUDPBind()
        let opening = try bind.open(port: 0)
        let pool = PacketBufferPool(slotCount: 8, slotSize: 256)
        let results = BlockingQueue<String>()
        var threads: [IOThread] = []
        for receiver in opening.receivers {
            threads.append(try IOThread(name: "udp-rx") {
                let batch = PacketBatch(pool: pool, capacity: 4)
                batch.refill()
                do { _ = try receiver.receive(into: batch, headroom: 0); results.push("returned") } catch { results.push("\(error)") }
            })
        }
        usleep(100_000)  // let them block
        let start = MonotonicTime.now()
        bind.close()
        for _ in threads { #expect(results.pop(until: .after(seconds: 5)) == "\(BindError.closed)") }
        #expect(MonotonicTime.now().nanoseconds - start.nanoseconds < 1_000_000_000)
        threads.forEach { $0.join() }
        // A new opening does not revive the old receivers.
        let again = try bind.open(port: opening.port)
        #expect(again.port == opening.port)
        let batch = PacketBatch(pool: pool, capacity: 4)
        batch.refill()
        #expect(throws: BindError.closed) { try opening.receivers[0].receive(into: batch, headroom: 0) }
        bind.close()
        #expect(throws: BindError.closed) { try bind.send(batch) }
    }

    @Test func portZeroPicksOnePortForBothFamiliesAndATakenPortIsRefused() throws {
        let a = LinuxUDPBind()
        defer { a.close() }
        let opening = try a.open(port: 0)
        #expect(opening.port != 0)
        #expect(a.port == opening.port)
        #expect(throws: BindError.alreadyOpen) { try a.open(port: 0) }
        let b = LinuxUDPBind()
        #expect(throws: BindError.addressInUse(opening.port)) { try b.open(port: opening.port) }
        // Both families answer on the port reported.
        let sender = LinuxUDPBind()
        defer { sender.close() }
        _ = try sender.open(port: 0)
        let pool = PacketBufferPool(slotCount: 8, slotSize: 256)
        let batch = PacketBatch(pool: pool, capacity: 3)
        batch.refill()
        let targets = [Endpoint("127.0.0.1:\(opening.port)"), Endpoint("[::1]:\(opening.port)"), nil]
        for (i, target) in targets.enumerated() {
            batch[i].setRange(offset: 0, count: 8)
            batch[i].endpoint = target
        }
        let outcome = try sender.send(batch)
        #expect(outcome.written == 2 && outcome.failed == 1 && outcome.firstError == EDESTADDRREQ)
        batch.releaseAll()
        for receiver in opening.receivers {
            batch.refill()
            #expect(try receiver.receive(into: batch, headroom: 0) == 1)
            #expect(batch[0].count == 8)
            #expect(batch[0].endpoint?.address.isIPv4 == (receiver.family == .ipv4))
            batch.releaseAll()
        }
    }

    @Test func socketBuffersAreLargeAsRootAndMarkIsSet() throws {
        let bind = LinuxUDPBind()
        defer { bind.close() }
        _ = try bind.open(port: 0)
        let sizes = bind.socketBufferSizes()
        #expect(sizes.count == 2)
        if geteuid() == 0 {
            for size in sizes {
                // The kernel reports twice the size it granted.
                #expect(size.receive >= LinuxUDPBind.defaultBufferSize && size.send >= LinuxUDPBind.defaultBufferSize)
            }
            try bind.setMark(0x51820)
        } else {
            #expect(throws: BindError.permissionDenied("SO_MARK")) { try bind.setMark(1) }
        }
    }
}

@Suite struct StickySourceTests {
    /// Sends one datagram to `destination` from `local` and returns the source the receiver
    /// saw, and the `local` left in the sent packet.
    func sendFrom(_ local: LocalAddress?) throws -> (Endpoint?, LocalAddress?) {
        let receiver = LinuxUDPBind(), sender = LinuxUDPBind()
        defer { receiver.close(); sender.close() }
        let rx = try receiver.open(port: 0)
        _ = try sender.open(port: 0)
        let pool = PacketBufferPool(slotCount: 4, slotSize: 256)
        let batch = PacketBatch(pool: pool, capacity: 1)
        batch.refill()
        batch[0].setRange(offset: 0, count: 5)
        batch[0].endpoint = Endpoint("127.0.0.1:\(rx.port)")
        batch[0].local = local
        #expect(try sender.send(batch) == WriteOutcome(written: 1))
        let left = batch[0].local
        batch.releaseAll()
        batch.refill()
        #expect(try rx.receivers[0].receive(into: batch, headroom: 0) == 1)
        return (batch[0].endpoint, left)
    }

    @Test func aDatagramLeavesFromItsLocalAddress() throws {
        let other = LocalAddress(address: IPAddress("127.0.0.2")!, interfaceIndex: 1)
        let (source, left) = try sendFrom(other)
        #expect(source?.address == IPAddress("127.0.0.2"))
        #expect(left == other)
    }

    @Test func aLocalAddressThatIsGoneIsDroppedAndTheDatagramStillSent() throws {
        let gone = LocalAddress(address: IPAddress("192.0.2.99")!, interfaceIndex: 1)
        let (source, left) = try sendFrom(gone)
        #expect(source?.address == IPAddress("127.0.0.1"))
        #expect(left == nil)
    }

    /// A GSO group from a source that is gone: every datagram of it still leaves, and
    /// every one forgets the source.
    @Test func aGroupFromALocalAddressThatIsGoneIsSentWhole() throws {
        let receiver = LinuxUDPBind(), sender = LinuxUDPBind()
        defer { receiver.close(); sender.close() }
        let rx = try receiver.open(port: 0)
        _ = try sender.open(port: 0)
        let pool = PacketBufferPool(slotCount: 16, slotSize: 256)
        let batch = PacketBatch(pool: pool, capacity: 6)
        batch.refill()
        for i in 0..<6 {
            batch[i].setRange(offset: 0, count: i == 5 ? 20 : 100)
            batch[i].bytes.storeBytes(of: UInt8(i), as: UInt8.self)
            batch[i].endpoint = Endpoint("127.0.0.1:\(rx.port)")
            batch[i].local = LocalAddress(address: IPAddress("192.0.2.99")!, interfaceIndex: 1)
        }
        #expect(try sender.send(batch) == WriteOutcome(written: 6))
        for i in 0..<6 { #expect(batch[i].local == nil) }
        batch.releaseAll()
        var got: [UInt8] = []
        while got.count < 6 {
            batch.refill()
            let n = try rx.receivers[0].receive(into: batch, headroom: 0)
            for i in 0..<n {
                got.append(batch[i].bytes.load(as: UInt8.self))
                #expect(batch[i].count == (got.last == 5 ? 20 : 100))
                #expect(batch[i].endpoint?.address == IPAddress("127.0.0.1"))
            }
        }
        #expect(got == [0, 1, 2, 3, 4, 5])
    }
}

extension StickySourceTests {
    @Test func anIPv4MappedEndpointGoesThroughTheIPv4Socket() throws {
        let receiver = LinuxUDPBind(), sender = LinuxUDPBind()
        defer { receiver.close(); sender.close() }
        let rx = try receiver.open(port: 0)
        let tx = try sender.open(port: 0)
        let pool = PacketBufferPool(slotCount: 4, slotSize: 256)
        let batch = PacketBatch(pool: pool, capacity: 1)
        batch.refill()
        batch[0].setRange(offset: 0, count: 3)
        batch[0].endpoint = Endpoint("[::ffff:127.0.0.1]:\(rx.port)")
        #expect(try sender.send(batch) == WriteOutcome(written: 1))
        batch.releaseAll()
        batch.refill()
        let ipv4 = try #require(rx.receivers.first { $0.family == .ipv4 })
        #expect(try ipv4.receive(into: batch, headroom: 0) == 1)
        #expect(batch[0].endpoint == Endpoint("127.0.0.1:\(tx.port)"))
    }
}

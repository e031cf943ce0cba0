import FerryTestSupport
import Glibc
import Testing
import WireGuard
@testable import WireGuardLinux

/// The shape of the device loop, without the protocol: each side reads batches from its
/// TUN and sends them to the other side's endpoint, and writes what it receives to its
/// TUN. Two such sides over the in-memory doubles (or real loopback sockets) carry a ping
/// and its reply, and shut down cleanly: it shows the primitives compose as the device
/// will use them (threads, batches, headroom, wake-up on close).
final class PlainRelay: @unchecked Sendable {
    let tun: any TUNDevice
    let bind: any UDPBind
    let pool = PacketBufferPool(slotCount: 256, slotSize: 2048)
    private var threads: [IOThread] = []

    /// The device encrypts in place: 16 bytes of message header in front, 16 of tag behind.
    static let headroom = 16, tailroom = 16

    init(tun: any TUNDevice, bind: any UDPBind) {
        self.tun = tun
        self.bind = bind
    }

    func start(peer: Endpoint, opening: BindOpening) throws {
        let tun = tun, bind = bind, pool = pool
        threads.append(try IOThread(name: "tun-rx") {
            let batch = PacketBatch(pool: pool, capacity: 64)
            while batch.refill(wait: true) > 0 {
                guard let n = try? tun.read(into: batch, headroom: PlainRelay.headroom, tailroom: PlainRelay.tailroom) else { return }
                let out = PacketBatch(pool: pool, capacity: 64)
                for i in 0..<n {
                    let packet = batch.detach(at: i)
                    // Where the device would seal: the packet grows into its head and tail room.
                    guard packet.prepend(PlainRelay.headroom), packet.append(PlainRelay.tailroom) else { return }
                    packet.endpoint = peer
                    out.append(packet)
                }
                _ = try? bind.send(out)
                out.releaseAll()
            }
        })
        for receiver in opening.receivers {
            threads.append(try IOThread(name: "udp-rx") {
                let batch = PacketBatch(pool: pool, capacity: 64)
                while batch.refill(wait: true) > 0 {
                    guard let n = try? receiver.receive(into: batch, headroom: 0) else { return }
                    let out = PacketBatch(pool: pool, capacity: 64)
                    for i in 0..<n where batch[i].count > PlainRelay.headroom + PlainRelay.tailroom {
                        let packet = batch.detach(at: i)
                        // Where the device would open: header and tag come off.
                        packet.removeFirst(PlainRelay.headroom)
                        packet.removeLast(PlainRelay.tailroom)
                        out.append(packet)
                    }
                    _ = try? tun.write(out)
                    out.releaseAll()
                }
            })
        }
    }

    func stop() {
        bind.close()
        tun.close()
        pool.close()
        threads.forEach { $0.join() }
    }
}

@Suite struct RelayLoopTests {
    static let echoRequest = ICMP.packet(ICMP.Echo(isRequest: true, source: [10, 0, 0, 1], destination: [10, 0, 0, 2],
                                                   id: 1, sequence: 1, payload: [1, 2, 3, 4, 5, 6, 7, 8]))

    func ping(a: (any UDPBind, Endpoint), b: (any UDPBind, Endpoint)) throws {
        let tunA = MemoryTUN(name: "ra"), tunB = MemoryTUN(name: "rb")
        let openA = try a.0.open(port: 0), openB = try b.0.open(port: 0)
        let sideA = PlainRelay(tun: tunA, bind: a.0), sideB = PlainRelay(tun: tunB, bind: b.0)
        try sideA.start(peer: Endpoint(address: b.1.address, port: openB.port), opening: openA)
        try sideB.start(peer: Endpoint(address: a.1.address, port: openA.port), opening: openB)
        defer { sideA.stop(); sideB.stop() }

        for _ in 0..<10 {
            tunA.inject(RelayLoopTests.echoRequest)
            let request = try #require(tunB.takeWritten(until: .after(seconds: 5)))
            #expect(request == RelayLoopTests.echoRequest)
            let reply = try #require(ICMP.reply(to: request, target: [10, 0, 0, 2]))
            tunB.inject(reply)
            #expect(tunA.takeWritten(until: .after(seconds: 5)) == reply)
        }
        #expect(sideA.pool.available + sideB.pool.available > 0)
    }

    @Test func twoSidesOverTheMemoryNetwork() throws {
        let network = MemoryNetwork()
        let a = IPAddress("192.0.2.1")!, b = IPAddress("2001:db8::2")!
        try ping(a: (network.bind(addresses: [a, IPAddress("2001:db8::1")!]), Endpoint(address: a, port: 0)),
                 b: (network.bind(addresses: [IPAddress("192.0.2.2")!, b]), Endpoint(address: b, port: 0)))
    }

    @Test func twoSidesOverLoopbackSockets() throws {
        try ping(a: (LinuxUDPBind(), Endpoint("127.0.0.1:0")!), b: (LinuxUDPBind(), Endpoint("[::1]:0")!))
    }
}

import CFerryLinux
import FerryTestSupport
import Glibc
import Testing
import WireGuard
@testable import WireGuardLinux

/// 100 open/close cycles of each resource leave no descriptor behind. Other tests run in
/// parallel and open descriptors of their own for a moment, so the count is compared with
/// some slack and re-read until it settles: a leak of one per cycle is 100, far above it.
@Suite(.serialized) struct DescriptorLeakTests {
    static let cycles = 100
    static let slack = 24

    func expectNoLeak(_ label: String, _ cycle: () throws -> Void) throws {
        let before = openDescriptorCount()
        for _ in 0..<DescriptorLeakTests.cycles { try cycle() }
        let deadline = MonotonicTime.after(seconds: 10)
        var after = openDescriptorCount()
        while after > before + DescriptorLeakTests.slack, MonotonicTime.now() < deadline {
            usleep(50_000)
            after = openDescriptorCount()
        }
        #expect(after <= before + DescriptorLeakTests.slack, "\(label): \(before) descriptors before, \(after) after \(DescriptorLeakTests.cycles) cycles")
    }

    @Test func udpBinds() throws {
        let pool = PacketBufferPool(slotCount: 8, slotSize: 256)
        let batch = PacketBatch(pool: pool, capacity: 1)
        try expectNoLeak("UDP") {
            let bind = LinuxUDPBind()
            let opening = try bind.open(port: 0)
            batch.refill()
            batch[0].setRange(offset: 0, count: 4)
            batch[0].endpoint = Endpoint("127.0.0.1:\(opening.port)")
            #expect(try bind.send(batch).written == 1)
            #expect(try opening.receivers[0].receive(into: batch, headroom: 0) == 1)
            batch.releaseAll()
            bind.close()
        }
    }

    @Test func uapiServers() throws {
        let dir = try TemporaryDirectory()
        try expectNoLeak("UAPI") {
            let listener = try UAPIListener.open(interface: "wgleak", directory: dir.path)
            let server = try UAPIServer(listener: listener) { _ in UAPI.response(nil) }
            try server.start()
            let client = try UAPIClient(path: listener.path)
            client.send("get=1\n\n")
            #expect(client.answer() == "errno=0\n\n")
            server.stop()
        }
    }

    @Test func stopSignalsAndThreads() throws {
        try expectNoLeak("stop signals") {
            let stop = try StopSignal()
            let thread = try IOThread(name: "leak") { _ = stop.sleep(until: nil) }
            stop.stop()
            thread.join()
        }
    }

    @Test func tunsAndLinkMonitors() throws {
        guard requireRoot() else { return }
        let ns = try NetworkNamespace()
        defer { ns.close() }
        try expectNoLeak("TUN") {
            // A name per cycle: a process another test forks at that moment holds the TUN
            // descriptor until its exec, and the interface outlives our close until then.
            let name = uniqueName("fl")
            let (tun, monitor) = try ns.inside { () -> (LinuxTUN, LinkMonitor) in
                let tun = try LinuxTUN.create(name: name, mtu: 1400)
                return (tun, try LinkMonitor(interfaceName: name))
            }
            #expect(try tun.mtu() == 1400)
            monitor.close()
            tun.close()
        }
    }
}

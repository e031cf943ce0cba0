import FerrySystem
import FerryTestSupport
import Foundation
import Glibc
import Testing
import WireGuard
@testable import WireGuardLinux

/// The TUN and link-monitor tests run as root in network namespaces they create. The TUN
/// is opened by a thread that entered the namespace with setns(2) (see
/// `NetworkNamespace.inside`): the descriptor then belongs to the namespace whichever
/// thread reads it later, and no helper process is needed. `ping` runs in the namespace
/// with `ip netns exec`.
@Suite struct LinuxTUNTests {
    @Test func aPingIsReadFromTheTUNAndAnsweredThroughIt() throws {
        guard requireRoot() else { return }
        let ns = try NetworkNamespace()
        defer { ns.close() }
        let tun = try ns.createTUN("fp", mtu: 1420)
        let name = tun.name
        defer { tun.close() }
        #expect(tun.name == name)
        #expect(try tun.mtu() == 1420)
        #expect(tun.interfaceIndex > 0)
        try ns.ip("addr", "add", "10.77.0.1/24", "dev", name)
        try ns.ip("addr", "add", "fd77::1/64", "dev", name, "nodad")
        try ns.ip("link", "set", name, "up")
        let watchdog = try Watchdog(seconds: 30) { tun.close() }
        defer { watchdog.cancel() }

        let pool = PacketBufferPool(slotCount: 64, slotSize: 2048)
        let batch = PacketBatch(pool: pool, capacity: 16)
        var lastReply: [UInt8] = []
        for (target, bytes) in [("10.77.0.2", IPAddress("10.77.0.2")!.bytes), ("fd77::2", IPAddress("fd77::2")!.bytes)] {
            let ping = try startPing(in: ns, target)
            var answered = false
            while !answered {
                batch.refill()
                let n = try tun.read(into: batch, headroom: 16, tailroom: 16)
                for i in 0..<n {
                    // Other traffic (IPv6 router solicitations, MLD) passes by.
                    guard let reply = ICMP.reply(to: batch[i].array, target: bytes) else { continue }
                    let out = PacketBatch(pool: pool, capacity: 1)
                    out.refill()
                    reply.withUnsafeBytes { _ = out[0].assign($0, headroom: 16) }
                    #expect(try tun.write(out) == WriteOutcome(written: 1))
                    out.releaseAll()
                    answered = true
                    lastReply = reply
                }
            }
            ping.waitUntilExit()
            #expect(ping.terminationStatus == 0, "ping \(target) got no reply")
        }

        // The interface refuses garbage without failing the rest of the batch.
        batch.releaseAll()
        batch.refill()
        let out = PacketBatch(pool: pool, capacity: 2)
        [UInt8]([0xff, 0xff, 0xff]).withUnsafeBytes { _ = batch[0].assign($0) }
        lastReply.withUnsafeBytes { _ = batch[1].assign($0) }
        out.append(batch.detach(at: 0))
        out.append(batch.detach(at: 1))
        #expect(try tun.write(out) == WriteOutcome(written: 1, failed: 1, firstError: EINVAL))
        out.releaseAll()

        // A packet longer than the room is reported empty, not cut.
        let big = try startPing(in: ns, "10.77.0.2", size: 1000, wait: 1)
        defer { big.waitUntilExit() }
        var sawEmpty = false
        while !sawEmpty {
            batch.refill()
            let n = try tun.read(into: batch, headroom: 16, tailroom: 2048 - 16 - 300)
            for i in 0..<n where batch[i].count == 0 { sawEmpty = true }
            for i in 0..<n { #expect(batch[i].count <= 300) }
        }
    }

    func startPing(in ns: NetworkNamespace, _ target: String, size: Int = 56, wait: Int = 10) throws -> ChildProcess {
        let ping = ChildProcess()
        ping.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        ping.arguments = ["ip", "netns", "exec", ns.name, "ping", "-c", "1", "-s", "\(size)", "-W", "\(wait)", target]
        ping.standardOutput = FileHandle.nullDevice
        ping.standardError = FileHandle.nullDevice
        try ping.run()
        return ping
    }

    @Test func theLinkMonitorReportsMTUUpDownAndDeletion() throws {
        guard requireRoot() else { return }
        let ns = try NetworkNamespace()
        defer { ns.close() }
        let tun = try ns.createTUN("fm", mtu: 1420)
        let name = tun.name
        defer { tun.close() }
        let monitor = try ns.inside { try LinkMonitor(interfaceName: name) }
        defer { monitor.close() }
        #expect(monitor.baseline.mtu == 1420 && !monitor.baseline.running)
        let watchdog = try Watchdog(seconds: 30) { monitor.close() }
        defer { watchdog.cancel() }

        try ns.ip("link", "set", name, "mtu", "1300")
        #expect(monitor.next() == .mtuChanged(1300))
        #expect(try tun.mtu() == 1300)
        try ns.ip("link", "set", name, "up")
        #expect(monitor.next() == .up)
        try ns.ip("link", "set", name, "down")
        #expect(monitor.next() == .down)
        try ns.ip("link", "del", name)
        #expect(monitor.next() == .deleted)
        #expect(monitor.next() == nil)
        // The TUN notices too: the kernel detached the descriptor.
        let pool = PacketBufferPool(slotCount: 2, slotSize: 2048)
        let batch = PacketBatch(pool: pool, capacity: 1)
        batch.refill()
        #expect(throws: TUNError.interfaceGone(name)) { try tun.read(into: batch, headroom: 0, tailroom: 0) }
        #expect(throws: TUNError.interfaceGone(name)) { try tun.mtu() }
    }

    @Test func closingWakesABlockedReader() throws {
        guard requireRoot() else { return }
        let ns = try NetworkNamespace()
        defer { ns.close() }
        let tun = try ns.createTUN("fc")
        let name = tun.name
        let results = BlockingQueue<String>()
        let pool = PacketBufferPool(slotCount: 4, slotSize: 2048)
        let reader = try IOThread(name: "tun-rx") {
            let batch = PacketBatch(pool: pool, capacity: 4)
            batch.refill()
            do { _ = try tun.read(into: batch, headroom: 0, tailroom: 0); results.push("read") } catch { results.push("\(error)") }
        }
        #expect(results.pop(until: .after(seconds: 0.1)) == nil)
        tun.close()
        #expect(results.pop(until: .after(seconds: 2)) == TUNError.closed.description)
        reader.join()
        // Closing a (non-persistent) TUN removes the interface (the kernel may finish that
        // a moment after the reader has returned).
        #expect(waitUntil(timeout: 2) { (try? ns.inside { if_nametoindex(name) }) == 0 })
    }

    @Test func creationErrorsSayWhatIsWrong() throws {
        guard requireRoot() else { return }
        let ns = try NetworkNamespace()
        defer { ns.close() }
        let tun = try ns.createTUN("fe")
        let name = tun.name
        defer { tun.close() }
        #expect(throws: TUNError.nameInUse(name, detail: "that TUN interface is already open (another ferry-wg or wireguard-go?)")) {
            try ns.inside { try LinuxTUN.create(name: name) }
        }
        let veth = uniqueName("fv")
        try ns.ip("link", "add", veth, "type", "veth", "peer", "name", uniqueName("fw"))
        let notTUN = #expect(throws: TUNError.self) { try ns.inside { try LinuxTUN.create(name: veth) } }
        #expect(notTUN == .nameInUse(veth, detail: "an interface that is not a TUN device has that name"))
        #expect(notTUN?.description == "interface \(veth) is in use: an interface that is not a TUN device has that name")
        for bad in ["", "a/b", "a:b", "a b", "sixteen-bytes-xx", "."] {
            #expect(throws: TUNError.invalidName(bad)) { try ns.inside { try LinuxTUN.create(name: bad) } }
        }
    }
}

@Suite struct TUNErrorTests {
    @Test func withoutRootCreatingSaysSo() {
        // Runs where the others skip: as a user without CAP_NET_ADMIN.
        guard geteuid() != 0, access(LinuxTUN.cloneDevicePath, R_OK | W_OK) == 0 else { return }
        #expect(throws: TUNError.permissionDenied) { try LinuxTUN.create(name: uniqueName("fn")) }
    }

    @Test func errnosMapToTheMessagesUsersNeed() {
        #expect(TUNError(opening: "/dev/net/tun", errno: ENOENT) == .noTUNDevice)
        #expect(TUNError(opening: "/dev/net/tun", errno: ENODEV) == .noTUNDevice)
        #expect(TUNError(opening: "/dev/net/tun", errno: EACCES) == .permissionDenied)
        #expect(TUNError(attaching: "wg0", errno: EPERM, nameExists: false) == .permissionDenied)
        #expect(TUNError(attaching: "wg0", errno: EBUSY, nameExists: true).description.hasPrefix("interface wg0 is in use"))
        #expect(TUNError(attaching: "eth0", errno: EINVAL, nameExists: true) == .nameInUse("eth0", detail: "an interface that is not a TUN device has that name"))
        #expect(TUNError(attaching: "wg0", errno: EINVAL, nameExists: false) == .invalidName("wg0"))
        #expect(TUNError.noTUNDevice.description.contains("/dev/net/tun does not exist"))
        #expect(TUNError.permissionDenied.description.contains("root"))
    }

    @Test func interfaceNamesFollowTheKernelsRules() {
        for good in ["wg0", "a", "fifteen-bytes-x", "wg%d", "ünï"] { #expect(TUNError.isValidInterfaceName(good), "\(good)") }
        for bad in ["", ".", "..", "a/b", "a:b", "a b", "a\tb", "sixteen-bytes-xx"] { #expect(!TUNError.isValidInterfaceName(bad), "\(bad)") }
    }
}

extension PacketBatch {
    /// Test convenience: the batch with one more buffer.
    func appending(_ buffer: PacketBuffer) -> PacketBatch {
        append(buffer)
        return self
    }
}

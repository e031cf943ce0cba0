import FerryTestSupport
import Foundation
import Testing
import WireGuard

/// Up/down and configuration cycles leave nothing behind: no daemon, interface or socket
/// after 100 start/stop cycles, and a steady count of descriptors, threads and address space
/// in a daemon whose configuration is cycled 100 times.
@Suite(.serialized, .needsRootAndFerryWG)
struct LeakTests {
    @Test func hundredStartStopCyclesLeaveNoDaemonInterfaceOrSocket() throws {
        let ns = try NetworkNamespace(prefix: "fcy")
        var names: [String] = []
        defer {
            for name in names {
                for pid in Processes.daemons(interface: name) { kill(pid, SIGKILL) }
                try? FileManager.default.removeItem(atPath: uapiSocketPath(name))
            }
            ns.close()
        }
        let peer = PrivateKey.generate().publicKey.base64
        for cycle in 0..<100 {
            let name = uniqueName("fy")
            names.append(name)
            try ns.exec([FerryWGBinary.path, name])  // background: returns once it runs
            try ns.exec(["wg", "set", name, "private-key", "/dev/stdin", "listen-port", "0",
                         "peer", peer, "allowed-ips", "10.0.0.0/8", "endpoint", "192.0.2.1:51820"],
                        input: PrivateKey.generate().base64)
            try ns.exec(["ip", "link", "set", name, "up"])
            let pids = Processes.daemons(interface: name)
            try #require(pids.count == 1, "cycle \(cycle): daemons \(pids)")
            // Half the cycles end with `ip link del` (wg-quick down), half with SIGTERM.
            if cycle % 2 == 0 {
                try ns.exec(["ip", "link", "del", name])
            } else {
                kill(pids[0], SIGTERM)
            }
            try #require(waitUntil(timeout: 10) { !Processes.isAlive(pids[0]) }, "cycle \(cycle): ferry-wg did not exit")
        }
        for name in names {
            #expect(Processes.daemons(interface: name).isEmpty)
            #expect(!FileManager.default.fileExists(atPath: uapiSocketPath(name)), "\(name)'s socket is left")
        }
        let links = try ns.exec(["ip", "-o", "link", "show"])
        #expect(!names.contains { links.contains($0) }, "interfaces left: \(links)")
    }

    @Test func hundredConfigurationCyclesKeepDescriptorsThreadsAndMemorySteady() throws {
        let ns = try NetworkNamespace(prefix: "fcc")
        let ferry = try WGInterface(.ferry, in: ns)
        defer {
            ferry.close()
            ns.close()
        }
        try ferry.up(addresses: ["10.80.0.1/24"])
        let pid = ferry.process.process.processIdentifier
        let peers = (0..<20).map { _ in PrivateKey.generate().publicKey.base64 }
        func cycle(_ n: Int) throws {
            // A new key and port (a rebind), a fwmark, 20 peers with endpoints (IPv4 and
            // IPv6), allowed IPs and keepalives (which start handshakes), the link down and
            // up, then every peer removed. (`wg` finds the socket from any namespace.)
            var args = ["wg", "set", ferry.name, "private-key", "/dev/stdin",
                        "listen-port", "\(n % 2 == 0 ? 0 : 40000 + n)", "fwmark", "\(n + 1)"]
            for (i, peer) in peers.enumerated() {
                args += ["peer", peer, "allowed-ips", "10.\(i).0.0/16,fd00:\(i + 1)::/64",
                         "endpoint", i % 2 == 0 ? "192.0.2.\(i + 1):51820" : "[2001:db8::\(i + 1)]:51820",
                         "persistent-keepalive", "1"]
            }
            try run(args, input: PrivateKey.generate().base64)
            try run(["ip", "-n", ns.name, "-batch", "-"], input: "link set \(ferry.name) down\nlink set \(ferry.name) up\n")
            _ = try run(["wg", "show", ferry.name, "dump"])
            try run(["wg", "set", ferry.name] + peers.flatMap { ["peer", $0, "remove"] })
        }
        for n in 0..<5 { try cycle(n) }
        usleep(300_000)
        let before = Processes.resources(of: pid), vmBefore = Processes.memory(of: pid, "VmSize")
        for n in 5..<105 { try cycle(n) }
        let settled = waitUntil(timeout: 5) { Processes.resources(of: pid) == before }
        let after = Processes.resources(of: pid), vmAfter = Processes.memory(of: pid, "VmSize")
        print("ferry-wg over 100 configuration cycles: descriptors \(before.descriptors) → \(after.descriptors), "
              + "threads \(before.threads) → \(after.threads), VmSize \(vmBefore) → \(vmAfter) kB, "
              + "VmRSS \(Processes.memory(of: pid, "VmRSS")) kB")
        #expect(settled, "descriptors or threads leaked: \(before) → \(after)")
        // Address space: an unjoined exited thread keeps its stack (8 MiB) mapped, and every
        // cycle rebinds (two receiver threads), so a leak shows as 1.6 GB; the margin leaves
        // room for a few new malloc arenas (64 MiB of address space each).
        #expect(vmAfter - vmBefore < 256 * 1024, "VmSize grew by \(vmAfter - vmBefore) kB")
        #expect(ferry.process.isRunning)
    }
}

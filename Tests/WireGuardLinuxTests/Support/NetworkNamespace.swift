import CFerryLinux
import Foundation
import Glibc
import Synchronization
@testable import WireGuardLinux

/// Whether the tests that need root, /dev/net/tun and `ip netns` can run here. When not,
/// they print a loud SKIPPED line and return.
enum RootEnvironment {
    static let available: Bool = geteuid() == 0 && access(LinuxTUN.cloneDevicePath, R_OK | W_OK) == 0
        && (try? run(["ip", "netns", "list"]).status) == 0

    /// True when the test may go on; prints the skip line otherwise.
    static func check(_ test: String = #function) -> Bool {
        if !available { print("SKIPPED (needs root and /dev/net/tun): WireGuardLinuxTests.\(test)") }
        return available
    }
}

private let counter = Atomic<Int>(0)

/// A name unique to this process and call, short enough for an interface (≤ 15 bytes).
func uniqueName(_ prefix: String) -> String {
    let n = counter.add(1, ordering: .relaxed).newValue
    return "\(prefix)\(getpid() % 100_000)x\(n)"
}

struct CommandFailure: Error, CustomStringConvertible {
    var command: [String]
    var status: Int32
    var output: String
    var description: String { "\(command.joined(separator: " ")) exited \(status): \(output)" }
}

/// Runs a program to its end; returns its exit status and its output (stdout and stderr).
@discardableResult
func run(_ arguments: [String], check: Bool = true) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    let output = String(decoding: data, as: UTF8.self)
    if check, process.terminationStatus != 0 {
        throw CommandFailure(command: arguments, status: process.terminationStatus, output: output)
    }
    return (process.terminationStatus, output)
}

/// A network namespace of the test's own (`ip netns add`), deleted by `delete()` (call it
/// in a `defer`). Namespaces left by a crashed run of this suite are removed on the next.
final class NetworkNamespace: @unchecked Sendable {
    let name: String
    private static let prefix = "ferrytest-"

    init() throws {
        NetworkNamespace.removeStale()
        name = "\(NetworkNamespace.prefix)\(getpid())-\(counter.add(1, ordering: .relaxed).newValue)"
        try run(["ip", "netns", "add", name])
        do {
            try run(["ip", "-n", name, "link", "set", "lo", "up"])
        } catch {
            delete()
            throw error
        }
    }

    func delete() { _ = try? run(["ip", "netns", "del", name], check: false) }

    /// `ip -n NAME ...`
    @discardableResult func ip(_ arguments: String...) throws -> String {
        try run(["ip", "-n", name] + arguments).output
    }

    /// Runs `body` on a thread that has entered the namespace with setns(2), so that the
    /// descriptors it opens (TUN, netlink and control sockets) belong to the namespace.
    /// Only that thread changes namespace: the rest of the test process stays put. The
    /// thread ends with the call, so nothing else ever runs in the namespace by accident.
    func inside<T: Sendable>(_ body: @escaping @Sendable () throws -> T) throws -> T {
        let result = BlockingQueue<Result<T, any Error>>()
        let path = "/var/run/netns/\(name)"
        let thread = try IOThread(name: "netns") {
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else {
                result.push(.failure(SystemError("open \(path)", errno: errno)))
                return
            }
            defer { Glibc.close(fd) }
            let r = ferry_setns_net(fd)
            guard r == 0 else {
                result.push(.failure(SystemError("setns \(path)", result: r)))
                return
            }
            result.push(Result { try body() })
        }
        thread.join()
        guard let outcome = result.pop(until: .after(seconds: 0)) else { throw SystemError("netns thread", errno: EIO) }
        return try outcome.get()
    }

    /// A TUN with a unique name made in the namespace.
    func createTUN(_ prefix: String, mtu: Int? = nil) throws -> LinuxTUN {
        let name = uniqueName(prefix)
        return try inside { try LinuxTUN.create(name: name, mtu: mtu) }
    }

    /// Deletes namespaces of earlier runs whose process is gone.
    private static func removeStale() {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: "/var/run/netns") else { return }
        for name in names where name.hasPrefix(prefix) {
            let pidText = name.dropFirst(prefix.count).prefix { $0 != "-" }
            if let pid = Int32(pidText), pid != getpid(), kill(pid, 0) != 0, errno == ESRCH {
                _ = try? run(["ip", "netns", "del", name], check: false)
            }
        }
    }
}

/// Runs an action after a delay unless cancelled, so a test that waits for an event that
/// never comes fails instead of hanging.
final class Watchdog: @unchecked Sendable {
    private let stop: StopSignal
    private let thread: IOThread

    init(seconds: Double, _ action: @escaping @Sendable () -> Void) throws {
        let stop = try StopSignal()
        self.stop = stop
        thread = try IOThread(name: "watchdog") {
            if !stop.sleep(until: .after(seconds: seconds)) { action() }
        }
    }

    func cancel() {
        stop.stop()
        thread.join()
    }
}

/// Number of open descriptors of this process.
func openDescriptorCount() -> Int {
    (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? -1
}

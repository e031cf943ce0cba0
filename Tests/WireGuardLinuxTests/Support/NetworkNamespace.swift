import FerryTestSupport
import Foundation
import Glibc
@testable import WireGuardLinux

/// True when a test that needs root, /dev/net/tun and `ip netns` may go on; otherwise
/// prints the loud skip line for that test.
func requireRoot(_ test: String = #function) -> Bool {
    let available = RootEnvironment.available && access(LinuxTUN.cloneDevicePath, R_OK | W_OK) == 0
    if !available { print("SKIPPED (needs root and /dev/net/tun): WireGuardLinuxTests.\(test)") }
    return available
}

extension NetworkNamespace {
    /// `ip -n NAME ...`
    @discardableResult func ip(_ arguments: String...) throws -> String {
        try run(["ip", "-n", name] + arguments)
    }

    /// Runs `body` on a thread that has entered the namespace with setns(2), so that the
    /// descriptors it opens (TUN, netlink and control sockets) belong to the namespace.
    /// Only that thread changes namespace; the descriptors stay usable from any thread.
    func inside<T: Sendable>(_ body: @escaping @Sendable () throws -> T) throws -> T {
        try withEntered(body)
    }

    /// A TUN with a unique name made in the namespace.
    func createTUN(_ prefix: String, mtu: Int? = nil) throws -> LinuxTUN {
        let name = uniqueName(prefix)
        return try inside { try LinuxTUN.create(name: name, mtu: mtu) }
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

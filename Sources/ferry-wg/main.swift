// ferry-wg: a userspace WireGuard daemon, a drop-in for wireguard-go.
//
//   ferry-wg [-f|--foreground] INTERFACE-NAME
//
// Creates the TUN interface and the UAPI socket /var/run/wireguard/INTERFACE-NAME.sock that
// `wg` and `wg-quick` drive, then goes to the background unless -f or
// WG_PROCESS_FOREGROUND=1. LOG_LEVEL=verbose|error picks the log level. Exits when the
// interface is deleted, the socket removed, or on SIGTERM/SIGINT.
import Glibc
import WireGuard
import WireGuardLinux

let version = "0.1.0"

func usage() -> String {
    """
    Usage: ferry-wg [-f/--foreground] INTERFACE-NAME
           ferry-wg --version | --help

    A userspace WireGuard implementation, driven by wg(8) and wg-quick(8) through
    /var/run/wireguard/INTERFACE-NAME.sock, like wireguard-go.

      -f, --foreground   stay in the foreground (also WG_PROCESS_FOREGROUND=1)
      LOG_LEVEL          error (default), verbose, or silent
    """
}

func fail(_ message: String, status: Int32 = 1) -> Never {
    var line = Array("ferry-wg: \(message)\n".utf8)
    line.withUnsafeMutableBytes { _ = write(2, $0.baseAddress, $0.count) }
    exit(status)
}

// Arguments.
var foregroundFlag = false
var names: [String] = []
for argument in CommandLine.arguments.dropFirst() {
    switch argument {
    case "-f", "--foreground": foregroundFlag = true
    case "-h", "--help":
        print(usage())
        exit(0)
    case "-v", "--version":
        print("ferry-wg v\(version)\n\nUserspace WireGuard daemon for Linux, written in Swift (Ferry).")
        exit(0)
    default:
        if argument.hasPrefix("-") { fail("unknown option \(argument)\n\(usage())", status: 2) }
        names.append(argument)
    }
}
guard names.count == 1, let name = names.first else { fail(usage(), status: 2) }
guard !name.isEmpty, name.utf8.count < 16, !name.contains("/"), name != ".", name != ".." else {
    fail("invalid interface name \"\(name)\": at most 15 characters, no '/'", status: 2)
}

// `wg set … endpoint [fe80::1%eth0]:51820` names the interface.
InterfaceZones.install()
let inherited = InheritedDescriptors()
let foreground = foregroundFlag || inherited.foreground
let logLevelText = getenv("LOG_LEVEL").map { String(cString: $0) }
let log = DeviceLog(level: DeviceLog.Level(environment: logLevelText), interface: name)

// Before any thread exists: SIGTERM/SIGINT become something main waits for.
let signals: ShutdownSignals
do { signals = try ShutdownSignals() } catch { fail("cannot set up signal handling: \(error)") }

// The TUN interface and the UAPI socket, created here (or inherited from the parent that
// created them, in the background child) so the usual failures reach the user directly.
func openTUN() throws(TUNError) -> LinuxTUN {
    if let fd = inherited.tun { return try LinuxTUN(adopting: fd) }
    // FERRY_WG_TUN_OFFLOADS=0: a TUN without virtio headers and TSO (one packet per read
    // and write), for comparison or for a kernel whose offloads misbehave.
    let offloads = getenv("FERRY_WG_TUN_OFFLOADS").map { String(cString: $0) != "0" } ?? true
    // wireguard-go's MTU: with the kernel's 1500, full-size packets would not fit the outer MTU.
    return try LinuxTUN.create(name: name, mtu: WireGuardConstants.defaultMTU, offloads: offloads)
}
let tun: LinuxTUN
do {
    tun = try openTUN()
} catch .permissionDenied {
    fail("cannot create interface \(name): permission denied (run as root, or with CAP_NET_ADMIN)")
} catch .noTUNDevice {
    fail("cannot create interface \(name): /dev/net/tun is missing (load the tun module, or give the container /dev/net/tun)")
} catch .nameInUse(let taken, let detail) {
    fail("cannot create interface \(taken): the name is taken (\(detail))")
} catch {
    fail("cannot create interface \(name): \(error)")
}
let listener: UAPIListener
do {
    if let fd = inherited.uapi {
        listener = UAPIListener(adopting: fd, path: UAPIListener.socketPath(interface: name))
    } else {
        listener = try UAPIListener.open(interface: name)
    }
} catch .socketInUse(let path) {
    tun.close()
    fail("UAPI socket \(path) is in use by another running daemon for \(name)")
} catch {
    tun.close()
    fail("cannot create UAPI socket for \(name): \(error)")
}

if !foreground {
    // wireguard-go keeps the child's output only when LOG_LEVEL is set.
    let outcome: Daemon.Outcome
    do {
        // The resolved path, not /proc/self/exe, so `ps` and `pgrep` show "ferry-wg".
        var path = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let executable = realpath("/proc/self/exe", &path) != nil ? String(cString: path) : "/proc/self/exe"
        outcome = try Daemon.detach(tun: tun.descriptor, uapi: listener.descriptor, executable: executable,
                                    arguments: CommandLine.arguments, keepOutput: logLevelText != nil)
    } catch {
        listener.close()
        tun.close()
        fail("cannot start in the background: \(error)")
    }
    switch outcome {
    case .ready:
        exit(0)  // the child owns the interface and the socket now
    case .failed(let message):
        fail(message)
    }
}

// The daemon proper.
let readiness = DaemonReadiness()
let stop: StopSignal
do { stop = try StopSignal() } catch { fail("cannot create stop signal: \(error)") }
let device: UserspaceDevice
let server: UAPIServer
do {
    // Follows the interface into another network namespace (`ip link set IF netns OTHER`).
    let monitor = try LinkMonitor(tun: tun)
    // FERRY_WG_UDP_OFFLOADS=0: no UDP GSO/GRO (one datagram per message), for comparison.
    let udpOffloads = getenv("FERRY_WG_UDP_OFFLOADS").map { String(cString: $0) != "0" } ?? true
    device = try UserspaceDevice(name: tun.name, tun: tun, bind: LinuxUDPBind(offloads: udpOffloads), links: monitor, log: log)
    device.onStop = { _ in stop.stop() }
    server = try UAPIServer(listener: listener, onSocketRemoved: {
        log.verbose("UAPI socket removed")
        stop.stop()
    }, handler: { [device] request in device.handle(request) })
    try device.start()
    try server.start()
} catch {
    readiness.failed("cannot start the device: \(error)")
    listener.close()
    tun.close()
    fail("cannot start the device: \(error)")
}
log.verbose("UAPI listener started")
readiness.ready()

switch signals.wait(orUntil: stop) {
case .signal(let s): log.verbose("Received signal \(s), shutting down")
case .stopped: log.verbose("Shutting down")
}
server.stop()
device.close()
listener.close()
exit(0)

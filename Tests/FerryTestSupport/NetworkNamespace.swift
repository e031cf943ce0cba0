import Foundation

/// Whether this process can run the tests that need real interfaces: root, /dev/net/tun and
/// the `ip` tool. Tests use it as `.enabled(if: RootEnvironment.available, …)` and say loudly
/// when they skip.
public enum RootEnvironment {
    public static let available: Bool = {
        let ok = getuid() == 0 && FileManager.default.fileExists(atPath: "/dev/net/tun")
            && (try? run(["ip", "-V"])) != nil
        if !ok {
            print("""
            ************************************************************************
            SKIPPED: tests with real interfaces need root and /dev/net/tun
            (uid \(getuid()), /dev/net/tun \(FileManager.default.fileExists(atPath: "/dev/net/tun") ? "present" : "missing"))
            ************************************************************************
            """)
        }
        return ok
    }()
}

/// A short name unique to this process and call: interface names are limited to 15 bytes and
/// /var/run/wireguard is shared by all namespaces, so names must not collide across tests.
public func uniqueName(_ prefix: String) -> String {
    let suffix = String(UInt32.random(in: 0...UInt32.max), radix: 36)
    return String((prefix + suffix).prefix(15))
}

/// A network namespace created for one test and deleted when closed (or deinitialized),
/// together with every process started in it.
public final class NetworkNamespace: @unchecked Sendable {
    public let name: String
    private var processes: [BackgroundProcess] = []

    public init(prefix: String = "ferry") throws {
        name = uniqueName(prefix)
        // Its own resolv.conf, which `ip netns exec` mounts over /etc/resolv.conf: `ferry up`
        // in the namespace points the network's DNS zone there, never at the machine's file.
        try? FileManager.default.createDirectory(atPath: "/etc/netns/\(name)", withIntermediateDirectories: true)
        try? FileManager.default.copyItem(atPath: "/etc/resolv.conf", toPath: "/etc/netns/\(name)/resolv.conf")
        try run(["ip", "netns", "add", name])
        try exec(["ip", "link", "set", "lo", "up"])
    }

    /// Runs a command inside the namespace.
    @discardableResult
    public func exec(_ command: [String], input: String? = nil, environment: [String: String] = [:]) throws -> String {
        try run(["ip", "netns", "exec", name] + command, input: input, environment: environment)
    }

    /// Starts a long-running command inside the namespace; it is stopped when the namespace closes.
    public func spawn(_ command: [String], environment: [String: String] = [:]) throws -> BackgroundProcess {
        let p = try BackgroundProcess(["ip", "netns", "exec", name] + command, environment: environment)
        processes.append(p)
        return p
    }

    /// Joins this namespace and `other` with a veth pair and gives each end an address
    /// (`10.x.y.z/24` style CIDR strings).
    public func link(to other: NetworkNamespace, address: String, peerAddress: String) throws -> (String, String) {
        let a = uniqueName("va"), b = uniqueName("vb")
        try run(["ip", "link", "add", a, "netns", name, "type", "veth", "peer", "name", b, "netns", other.name])
        try exec(["ip", "addr", "add", address, "dev", a])
        try exec(["ip", "link", "set", a, "up"])
        try other.exec(["ip", "addr", "add", peerAddress, "dev", b])
        try other.exec(["ip", "link", "set", b, "up"])
        return (a, b)
    }

    /// Runs `body` on a thread that has entered this namespace (setns affects only the calling
    /// thread), e.g. to open sockets that live in it; the sockets stay usable from any thread.
    public func withEntered<T>(_ body: @escaping () throws -> T) throws -> T {
        let path = "/var/run/netns/\(name)"
        nonisolated(unsafe) var result: Result<T, Error>?
        nonisolated(unsafe) let body = body
        let done = DispatchSemaphore(value: 0)
        let thread = Thread {
            defer { done.signal() }
            let fd = open(path, O_RDONLY)
            guard fd >= 0, enterNamespace(fd) == 0 else {
                result = .failure(CommandFailure(command: ["setns", path], status: errno, output: String(cString: strerror(errno))))
                if fd >= 0 { Glibc.close(fd) }
                return
            }
            Glibc.close(fd)
            result = Result { try body() }
        }
        thread.start()
        done.wait()
        guard let result else { throw CommandFailure(command: ["setns", path], status: -1, output: "thread did not run") }
        return try result.get()
    }

    public func close() {
        for p in processes { p.stop() }
        processes.removeAll()
        _ = try? run(["ip", "netns", "del", name])
        try? FileManager.default.removeItem(atPath: "/etc/netns/\(name)")
    }

    deinit { close() }
}

/// setns(2) for network namespaces. Glibc's Swift overlay does not export setns (it needs
/// _GNU_SOURCE), so it is looked up at run time.
private func enterNamespace(_ fd: Int32) -> Int32 {
    typealias SetNS = @convention(c) (Int32, Int32) -> Int32
    guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "setns") else { return -1 }
    let cloneNewNet: Int32 = 0x4000_0000
    return unsafeBitCast(symbol, to: SetNS.self)(fd, cloneNewNet)
}

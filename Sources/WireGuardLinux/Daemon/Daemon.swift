import CFerryLinux
import Glibc

/// Going to the background as wireguard-go does (main.go): the first process opens the TUN
/// and the UAPI socket itself, so the usual failures (name taken, socket in use, not root)
/// are reported straight to the user; then it runs itself again in the foreground with both
/// descriptors inherited (`WG_TUN_FD=3`, `WG_UAPI_FD=4`, `WG_PROCESS_FOREGROUND=1`), in a
/// session of its own, with stdin on /dev/null and stdout/stderr kept only when LOG_LEVEL is
/// set. `fork()` is unsafe in a multi-threaded Swift process; posix_spawn of
/// /proc/self/exe is not.
///
/// Unlike wireguard-go, the parent does not exit at once: it passes a pipe
/// (`FERRY_READY_FD=5`) and waits until the child reports that the device runs (exit 0) or
/// why it could not start (print it, exit 1), so `wg-quick up` fails when the daemon fails.
public enum Daemon {
    public static let foregroundVariable = "WG_PROCESS_FOREGROUND"
    public static let tunDescriptorVariable = "WG_TUN_FD"
    public static let uapiDescriptorVariable = "WG_UAPI_FD"
    public static let readyDescriptorVariable = "FERRY_READY_FD"

    /// What became of the background process.
    public enum Outcome: Equatable, Sendable {
        /// It reported that it runs.
        case ready(pid: Int32)
        /// It reported an error, exited, or stayed silent too long (then it was killed).
        case failed(String)
    }

    /// Starts `executable` (this program by default) in the background with the TUN and
    /// UAPI descriptors as 3 and 4 and waits for its report. The descriptors stay open here;
    /// exit without closing the UAPI listener's file (its deinit keeps the file).
    ///
    /// - Parameters:
    ///   - arguments: argv, with argv[0] (normally `CommandLine.arguments`).
    ///   - environment: `KEY=value` strings (normally the current environment); the
    ///     variables above are added.
    ///   - keepOutput: give the child this process's stdout and stderr (wireguard-go does
    ///     when LOG_LEVEL is set), else /dev/null.
    public static func detach(tun: Int32, uapi: Int32, executable: String = "/proc/self/exe", arguments: [String],
                              environment: [String] = Daemon.currentEnvironment(), keepOutput: Bool,
                              timeout: Double = 30) throws(SystemError) -> Outcome {
        var pipe: [Int32] = [-1, -1]
        let r = ferry_pipe(&pipe)
        guard r == 0 else { throw SystemError("pipe", result: r) }
        defer { closeDescriptor(pipe[0]) }
        let markers = [tunDescriptorVariable, uapiDescriptorVariable, foregroundVariable, readyDescriptorVariable]
        let env = environment.filter { entry in !markers.contains { entry.hasPrefix($0 + "=") } }
            + ["\(tunDescriptorVariable)=3", "\(uapiDescriptorVariable)=4", "\(foregroundVariable)=1", "\(readyDescriptorVariable)=5"]
        let fds: [Int32] = [-1, keepOutput ? 1 : -1, keepOutput ? 2 : -1, tun, uapi, pipe[1]]
        let pid = spawn(executable, arguments: arguments, environment: env, descriptors: fds)
        closeDescriptor(pipe[1])
        guard pid > 0 else { throw SystemError("start \(executable)", result: pid) }
        return waitForReport(from: pipe[0], child: pid, deadline: .after(seconds: timeout))
    }

    /// The current process's environment as `KEY=value` strings.
    public static func currentEnvironment() -> [String] {
        var result: [String] = []
        var p = environ
        while let entry = p.pointee {
            result.append(String(cString: entry))
            p += 1
        }
        return result
    }

    private static func spawn(_ path: String, arguments: [String], environment: [String], descriptors: [Int32]) -> Int32 {
        withCStrings(arguments) { argv in
            withCStrings(environment) { envp in
                descriptors.withUnsafeBufferPointer { fds in
                    ferry_spawn(path, argv, envp, fds.baseAddress, Int32(fds.count), 1)
                }
            }
        }
    }

    private static func withCStrings<T>(_ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> T) -> T {
        let copies = strings.map { strdup($0) } + [nil]
        defer { copies.forEach { free($0) } }
        return copies.withUnsafeBufferPointer { body($0.baseAddress!) }
    }

    /// Reads the child's report: one line, `READY` or `ERROR message`; end of file first
    /// means it died.
    private static func waitForReport(from fd: Int32, child: Int32, deadline: MonotonicTime) -> Outcome {
        var report: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&p, 1, deadline.pollTimeout)
            if ready == 0 {
                kill(child, SIGTERM)
                return .failed("the background process did not report within the time limit; stopped it")
            }
            if ready < 0 {
                if errno == EINTR { continue }
                return .failed(SystemError("poll", errno: errno).description)
            }
            let n = read(fd, &chunk, chunk.count)
            if n > 0 {
                report += chunk[0..<n]
                // One line is the whole report.
                if report.contains(UInt8(ascii: "\n")) || report.count > 1 << 16 { break }
                continue
            }
            if n < 0, errno == EINTR { continue }
            break
        }
        let text = String(decoding: report, as: UTF8.self)
        if text.hasPrefix("READY") { return .ready(pid: child) }
        if text.hasPrefix("ERROR ") {
            return .failed(String(text.dropFirst(6)).trimmingSuffix("\n"))
        }
        return .failed("the background process exited before it was ready\(exitDescription(child))")
    }

    private static func exitDescription(_ pid: Int32) -> String {
        var status: Int32 = 0
        guard waitpid(pid, &status, 0) == pid else { return "" }
        let termination = status & 0x7f
        if termination == 0 { return " (exit status \((status >> 8) & 0xff))" }
        return " (killed by signal \(termination))"
    }
}

/// The background process's side of the readiness pipe (`FERRY_READY_FD`). Without the
/// variable (started in the foreground by the user) the reports go nowhere.
public final class DaemonReadiness: @unchecked Sendable {
    private var descriptor: Int32
    private let lock = ConditionLock()

    /// From the environment, taking the descriptor over (close-on-exec from now on).
    public convenience init(environment: [String] = Daemon.currentEnvironment()) {
        let prefix = Daemon.readyDescriptorVariable + "="
        let value = environment.first { $0.hasPrefix(prefix) }.map { String($0.dropFirst(prefix.count)) }
        self.init(descriptor: value.flatMap { Int32($0) } ?? -1)
    }

    public init(descriptor: Int32) {
        self.descriptor = descriptor
        if descriptor >= 0, fcntl(descriptor, F_SETFD, FD_CLOEXEC) != 0 { self.descriptor = -1 }
    }

    deinit { closeDescriptor(descriptor) }

    /// The device runs: the waiting parent exits 0.
    public func ready() { report("READY\n") }

    /// The device could not start: the waiting parent prints `message` and exits 1.
    public func failed(_ message: String) { report("ERROR \(message)\n") }

    private func report(_ text: String) {
        lock.withLock {
            guard descriptor >= 0 else { return }
            var text = text
            text.withUTF8 { bytes in
                var offset = 0
                while offset < bytes.count {
                    let n = write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
                    if n < 0, errno == EINTR { continue }
                    if n <= 0 { break }
                    offset += n
                }
            }
            closeDescriptor(descriptor)
            descriptor = -1
        }
    }
}

/// The descriptors a background process inherited, from the environment.
public struct InheritedDescriptors: Equatable, Sendable {
    public var tun: Int32?
    public var uapi: Int32?
    public var foreground: Bool

    public init(environment: [String] = Daemon.currentEnvironment()) {
        func value(_ name: String) -> String? {
            environment.first { $0.hasPrefix(name + "=") }.map { String($0.dropFirst(name.count + 1)) }
        }
        tun = value(Daemon.tunDescriptorVariable).flatMap { Int32($0) }.flatMap { $0 >= 0 ? $0 : nil }
        uapi = value(Daemon.uapiDescriptorVariable).flatMap { Int32($0) }.flatMap { $0 >= 0 ? $0 : nil }
        foreground = value(Daemon.foregroundVariable) == "1"
    }
}

extension String {
    fileprivate func trimmingSuffix(_ suffix: String) -> String {
        hasSuffix(suffix) ? String(dropLast(suffix.count)) : self
    }
}

import CFerryLinux
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Starts programs with posix_spawn (CFerryLinux's `ferry_spawn`) rather than Foundation's
/// `Process`. On Linux, `Process.run()` (Swift 6.3.1) walks /proc/self/fd with a copy that
/// can read past glibc's buffer and crash once the process holds many descriptors
/// (swift-corelibs-foundation PR #5472): a busy ferryd holds thousands (connections,
/// database pools) while its gateway runs nft and ip every second. Here the child gets
/// exactly descriptors 0, 1 and 2; nothing else is inherited.
public enum Spawn {
    public struct Failure: Error, CustomStringConvertible, Sendable {
        public var command: [String]
        public var errno: Int32
        public var description: String { "cannot start \(command.first ?? "?"): \(String(cString: strerror(errno)))" }
    }

    /// Starts `argv` (its first element found on PATH, through /usr/bin/env as `Process`
    /// did) with `stdin`, `stdout` and `stderr` as descriptors 0-2 (-1: /dev/null).
    /// `environment` nil: this process's own. Returns the child's pid; reap it with `wait`.
    public static func start(_ argv: [String], environment: [String: String]? = nil,
                             stdin: Int32 = -1, stdout: Int32 = -1, stderr: Int32 = -1,
                             newSession: Bool = false) throws(Failure) -> pid_t {
        try start(path: "/usr/bin/env", argv: ["env"] + argv, environment: environment,
                  stdin: stdin, stdout: stdout, stderr: stderr, newSession: newSession)
    }

    /// Starts the program at `path` with `argv` (its own name first).
    public static func start(path: String, argv: [String], environment: [String: String]? = nil,
                             stdin: Int32 = -1, stdout: Int32 = -1, stderr: Int32 = -1,
                             newSession: Bool = false) throws(Failure) -> pid_t {
        let env = (environment ?? ProcessInfo.processInfo.environment).map { "\($0.key)=\($0.value)" }.sorted()
        let fds = [stdin, stdout, stderr]
        let pid = withCStrings(argv) { argv in
            withCStrings(env) { envp in
                fds.withUnsafeBufferPointer { ferry_spawn(path, argv, envp, $0.baseAddress, 3, newSession ? 1 : 0) }
            }
        }
        guard pid > 0 else { throw Failure(command: argv, errno: -pid) }
        return pid
    }

    /// Waits for `pid` to end: its exit status, or 128 + the signal that ended it.
    public static func wait(_ pid: pid_t) -> Int32 { termination(pid).status }

    /// Waits for `pid` to end: its exit status (128 + the signal when one ended it) and
    /// whether a signal did.
    public static func termination(_ pid: pid_t) -> (status: Int32, signaled: Bool) {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            guard errno == EINTR else { return (-1, false) }
        }
        let signal = status & 0x7f
        return signal == 0 ? ((status >> 8) & 0xff, false) : (128 + signal, true)
    }

    /// The exit status if `pid` has ended (it is then reaped), nil while it runs.
    public static func poll(_ pid: pid_t) -> Int32? {
        var status: Int32 = 0
        let r = waitpid(pid, &status, WNOHANG)
        guard r == pid else { return r < 0 ? -1 : nil }
        let signal = status & 0x7f
        return signal == 0 ? (status >> 8) & 0xff : 128 + signal
    }

    /// Runs `argv` to completion, feeding it `input` and collecting both outputs (read
    /// while it runs, so a full pipe cannot block it). Blocks the calling thread.
    public static func run(_ argv: [String], input: String? = nil, environment: [String: String]? = nil) throws(Failure) -> CommandResult {
        _ = ignoreSIGPIPE
        var opened: [Int32] = []
        defer { opened.forEach { close($0) } }
        func pipe() throws(Failure) -> (read: Int32, write: Int32) {
            var fds: [Int32] = [-1, -1]
            let r = fds.withUnsafeMutableBufferPointer { ferry_pipe($0.baseAddress) }
            guard r == 0 else { throw Failure(command: argv, errno: -r) }
            opened += fds
            return (fds[0], fds[1])
        }
        let inp = try pipe(), out = try pipe(), err = try pipe()
        let pid = try start(argv, environment: environment, stdin: inp.read, stdout: out.write, stderr: err.write)
        // The collectors own the read ends; the child holds its own copies of the rest.
        opened = [inp.read, inp.write, out.write, err.write]
        let stdout = PipeCollector(FileHandle(fileDescriptor: out.read, closeOnDealloc: true))
        let stderr = PipeCollector(FileHandle(fileDescriptor: err.read, closeOnDealloc: true))
        close(inp.read)
        if let input {
            // A child that exits without reading its input closes the pipe: EPIPE ends the
            // write (SIGPIPE is ignored), and the child's status tells what happened.
            var bytes = Array(input.utf8)[...]
            while !bytes.isEmpty {
                let n = bytes.withUnsafeBytes { write(inp.write, $0.baseAddress, $0.count) }
                if n < 0 { if errno == EINTR { continue } else { break } }
                bytes = bytes.dropFirst(n)
            }
        }
        close(inp.write)
        close(out.write)
        close(err.write)
        opened = []
        let status = wait(pid)
        return CommandResult(status: status, stdout: stdout.finish(), stderr: stderr.finish())
    }

    /// Writing into a pipe whose reader exited must fail with EPIPE, not kill the process.
    static let ignoreSIGPIPE: Void = { _ = signal(SIGPIPE, SIG_IGN) }()

    private static func withCStrings<T>(_ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> T) -> T {
        let copies = strings.map { strdup($0) } + [nil]
        defer { copies.forEach { free($0) } }
        return copies.withUnsafeBufferPointer { body($0.baseAddress!) }
    }
}

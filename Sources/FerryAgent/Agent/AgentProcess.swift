import Foundation

/// The running agent of a state folder, found through `agent.pid`.
public enum AgentProcess {
    /// The pid in `agent.pid` when that process still runs and is a ferry agent: a pid file
    /// left by a crash may name a pid the kernel has since given to another program, which
    /// `ferry down` must not signal.
    public static func running(in dir: StateDirectory) -> pid_t? {
        guard let data = FileManager.default.contents(atPath: dir.pidFile),
              let pid = pid_t(String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)),
              pid > 0, kill(pid, 0) == 0 || errno == EPERM, isAgent(pid) else { return nil }
        return pid
    }

    /// True when `pid` runs `ferry ... up` (its command line, from /proc).
    static func isAgent(_ pid: pid_t) -> Bool {
        if pid == getpid() { return true }
        guard let raw = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
        let argv = raw.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
        guard let program = argv.first.map({ ($0 as NSString).lastPathComponent }), program == "ferry" else { return false }
        return argv.dropFirst().contains("up")
    }

    public static func writePID(in dir: StateDirectory) throws(FerryError) {
        try AtomicFile.write("\(getpid())\n", to: dir.pidFile)
    }

    public static func removePID(in dir: StateDirectory) {
        if running(in: dir) == getpid() || running(in: dir) == nil { unlink(dir.pidFile) }
    }

    /// SIGTERM, then waits up to `seconds` for the process to go; true when it went.
    @discardableResult
    public static func stop(_ pid: pid_t, seconds: Double = 10) async -> Bool {
        kill(pid, SIGTERM)
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if kill(pid, 0) != 0 && errno == ESRCH { return true }
            // A child of ours that exited stays a zombie until reaped.
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid { return true }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return false
    }
}

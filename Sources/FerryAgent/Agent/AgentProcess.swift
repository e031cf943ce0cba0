import Foundation

/// The running agent of a state folder, found through `agent.pid`.
public enum AgentProcess {
    /// The pid in `agent.pid` when that process still runs.
    public static func running(in dir: StateDirectory) -> pid_t? {
        guard let data = FileManager.default.contents(atPath: dir.pidFile),
              let pid = pid_t(String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)),
              pid > 0, kill(pid, 0) == 0 || errno == EPERM else { return nil }
        return pid
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

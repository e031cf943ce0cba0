import FerryTestSupport
import Foundation

/// Looking at daemons from outside, through /proc.
enum Processes {
    /// The processes whose program is `program` (last path component of argv[0]) and whose
    /// last argument is `interface`: the daemons of that interface, whoever started them.
    static func daemons(_ program: String = "ferry-wg", interface: String) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap(Int32.init).filter { pid in
            guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
            let argv = data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            return argv.count >= 2 && argv.last == interface && argv[0].split(separator: "/").last.map(String.init) == program
        }
    }

    /// Whether the process still runs. A daemon that went to the background is reparented to
    /// PID 1, which may take a while to reap it: a zombie counts as gone.
    static func isAlive(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let end = stat.lastIndex(of: ")") else { return false }
        return stat[stat.index(after: end)...].trimmingCharacters(in: .whitespaces).first != "Z"
    }

    /// Open descriptors and threads of a process.
    static func resources(of pid: Int32) -> (descriptors: Int, threads: Int) {
        let fm = FileManager.default
        return ((try? fm.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count) ?? -1,
                (try? fm.contentsOfDirectory(atPath: "/proc/\(pid)/task").count) ?? -1)
    }

    /// A field of /proc/PID/status in kB (`VmSize`, `VmRSS`).
    static func memory(of pid: Int32, _ field: String) -> Int {
        let text = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        let line = text.split(separator: "\n").first { $0.hasPrefix(field + ":") } ?? ""
        return Int(line.split(separator: " ").dropFirst().first ?? "") ?? -1
    }
}

extension NetworkNamespace {
    /// Whether an interface of that name exists in the namespace.
    func hasInterface(_ name: String) -> Bool {
        (try? exec(["ip", "link", "show", "dev", name])) != nil
    }
}

/// The exit status and output of a command that may fail.
func runStatus(_ command: [String], environment: [String: String] = [:]) -> (status: Int32, output: String) {
    do {
        return (0, try run(command, environment: environment))
    } catch let failure as CommandFailure {
        return (failure.status, failure.output)
    } catch {
        return (-1, "\(error)")
    }
}

extension Processes {
    /// User plus system CPU seconds a process has used (/proc/PID/stat), 0 when it is gone.
    static func cpuSeconds(of pid: Int32) -> Double {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return 0 }
        // Fields after the command: state is the 3rd of the line; utime and stime the 14th and 15th.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }
}

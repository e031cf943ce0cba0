import ArgumentParser
import Dispatch
import FerryAgent
import FerryCore
import FerrySystem
import Foundation

struct Up: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Bring the interface up and keep it equal to the coordinator's view (foreground).",
        discussion: """
        Uses the kernel module where there is one, else starts ferry-wg (next to ferry, or on
        PATH; --userspace to choose). Runs until SIGINT/SIGTERM, then takes the interface down
        (--keep-up leaves it). While the coordinator is unreachable it keeps the last map.
        """)

    @Option(help: ArgumentHelp("The userspace WireGuard to start without the kernel module.", valueName: "PATH"))
    var userspace: String?
    @Option(name: .customLong("listen-port"), help: "UDP port to listen on (default: any).") var listenPort: UInt16?
    @Option(help: ArgumentHelp("This machine's public HOST:PORT to report (for mesh peers).", valueName: "HOST:PORT"))
    var endpoint: String?
    @Option(name: .customLong("report-interval"), help: "How often counters are reported (e.g. 30s).") var reportInterval = "30s"
    @Option(name: .customLong("poll-wait"), help: "Seconds each long poll waits at the coordinator.") var pollWait = 25
    @Flag(name: .customLong("keep-up"), help: "Leave the interface up when the agent stops.") var keepUp = false
    @Flag(help: "Go to the background once the interface is up (log in STATE/agent.log).") var background = false
    @OptionGroup var state: StateOptions

    func validate() throws {
        guard DurationText.milliseconds(reportInterval) != nil else { throw ValidationError("--report-interval must be like 30s") }
        guard (1...300).contains(pollWait) else { throw ValidationError("--poll-wait must be 1 to 300 seconds") }
        if let endpoint, HostPort(endpoint) == nil { throw ValidationError("--endpoint must be HOST:PORT") }
    }

    func run() async throws {
        try await reporting {
            let (dir, s, client) = try state.deviceClient()
            if s.ephemeral {
                throw FerryError(.state, "\(dir.path) holds a CI peer; use 'ferry ci up' and 'ferry ci down' for it")
            }
            if let pid = AgentProcess.running(in: dir), pid != getpid() {
                throw FerryError(.failure, "an agent already runs for \(dir.path) (pid \(pid)); 'ferry down' stops it")
            }
            if background {
                try await Background.start(dir: dir, arguments: Array(CommandLine.arguments.dropFirst()).filter { $0 != "--background" })
                return
            }
            var options = Agent.Options()
            options.userspace = userspace
            options.listenPort = listenPort
            options.endpoint = endpoint
            options.pollWait = pollWait
            options.reportInterval = .milliseconds(DurationText.milliseconds(reportInterval) ?? 30000)
            let agent = try Agent(directory: dir, state: s, client: client, options: options)
            let stop = StopOnSignals()
            do {
                let map = try await agent.bringUp()
                await agent.checkKey()
                try AgentProcess.writePID(in: dir)
                options.log("\(s.interface) up as '\(s.name)' (\(map.interface.addresses.joined(separator: ", "))), syncing with \(s.coordinator)")
                await withTaskGroup(of: Void.self) { group in
                    group.addTask { await agent.syncLoop() }
                    group.addTask { await agent.reportLoop() }
                    group.addTask { await agent.meshLoop() }
                    group.addTask { await stop.wait() }
                    await group.next()
                    group.cancelAll()
                }
                if let removal = await agent.removal {
                    // The device token will never work again: keeping routes to a network this
                    // machine is no longer part of only hides the fact.
                    try? await agent.driver.local.delete()
                    options.log("\(s.interface) down; the agent stops (exit \(removal.exitCode))")
                    AgentProcess.removePID(in: dir)
                    throw removal
                }
                options.log("stopping (\(stop.reason ?? "signal"))")
            } catch {
                AgentProcess.removePID(in: dir)
                throw error
            }
            if !keepUp {
                try? await agent.splitDNS.restore()
                try await agent.driver.local.delete()
                options.log("\(s.interface) down")
            }
            AgentProcess.removePID(in: dir)
        }
    }
}

/// Waits for SIGINT or SIGTERM.
final class StopOnSignals: @unchecked Sendable {
    private let lock = NSLock()
    private var continuation: CheckedContinuation<Void, Never>?
    private var fired = false
    private(set) var reason: String?
    private var sources: [any DispatchSourceSignal] = []

    init() {
        for (sig, name) in [(SIGINT, "SIGINT"), (SIGTERM, "SIGTERM")] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { [weak self] in self?.fire(name) }
            source.resume()
            sources.append(source)
        }
    }

    private func fire(_ name: String?) {
        lock.lock()
        fired = true
        reason = reason ?? name
        let c = continuation
        continuation = nil
        lock.unlock()
        c?.resume()
    }

    /// Returns on a signal, or when cancelled (the agent stopping for another reason, such
    /// as this machine's removal, must not wait for a signal).
    func wait() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                lock.lock()
                if fired { lock.unlock(); c.resume() } else { continuation = c; lock.unlock() }
            }
        } onCancel: {
            fire(nil)
        }
    }
}

/// `ferry up --background`: the same command in a new session, its output in
/// STATE/agent.log; returns once it wrote its pid (the interface is up) or failed.
enum Background {
    static func start(dir: StateDirectory, arguments: [String]) async throws(FerryError) {
        let logPath = dir.file("agent.log")
        if !FileManager.default.fileExists(atPath: logPath) {
            FileManager.default.createFile(atPath: logPath, contents: nil, attributes: [.posixPermissions: 0o600])
        }
        let p = ChildProcess()
        p.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        var args = arguments
        if !args.contains("--state") { args += ["--state", dir.path] }
        p.arguments = args
        guard let log = FileHandle(forWritingAtPath: logPath) else { throw .failure("cannot write \(logPath)") }
        log.seekToEndOfFile()
        p.standardOutput = log
        p.standardError = log
        p.standardInput = FileHandle.nullDevice
        do { try p.run() } catch { throw .failure("cannot start the agent: \(error)") }
        let pid = p.processIdentifier
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            if AgentProcess.running(in: dir) == pid {
                Console.progress("agent runs in the background (pid \(pid)); log: \(logPath); 'ferry down' stops it")
                return
            }
            if !p.isRunning {
                let tail = (try? String(contentsOfFile: logPath, encoding: .utf8))?.split(separator: "\n").last.map(String.init) ?? ""
                throw .failure("the agent stopped: \(tail.replacingOccurrences(of: "ferry: ", with: ""))")
            }
            try? await Task.sleep(for: .milliseconds(100))
        }
        throw .failure("the agent did not come up within 60s; see \(logPath)")
    }
}

struct Down: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Stop the agent and take the interface down (which also stops the ferry-wg it started).")
    @OptionGroup var state: StateOptions

    func run() async throws {
        try await reporting {
            let (dir, s) = try state.load()
            let local = LocalInterface(name: s.interface)
            // Whether it was up is judged before the agent, which takes it down, is stopped.
            let existed = await local.exists()
            var stopped: Int32?
            if let pid = AgentProcess.running(in: dir), pid != getpid() {
                if !(await AgentProcess.stop(pid)) { throw FerryError(.failure, "the agent (pid \(pid)) did not stop within 10s; kill it") }
                stopped = pid
            }
            // Also after a crash: the saved resolv.conf goes back (docs/dns.md).
            try await SplitDNS(interface: s.interface, directory: dir, runner: ProcessRunner()).restore()
            try await local.delete()
            unlink(dir.pidFile)
            let agent = stopped.map { " (agent pid \($0) stopped)" } ?? ""
            Console.out(existed ? "\(s.interface) down\(agent)" : "\(s.interface) was not up\(agent)")
        }
    }
}

struct Leave: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Take the interface down and forget this machine's enrolment (key and token).",
        discussion: "The peer stays at the coordinator until an admin removes it: ferry peers rm NAME.")
    @OptionGroup var state: StateOptions

    func run() async throws {
        try await reporting {
            let (dir, s) = try state.load()
            if let pid = AgentProcess.running(in: dir), pid != getpid() { await AgentProcess.stop(pid) }
            try await LocalInterface(name: s.interface).delete()
            dir.removeEnrolment()
            Console.out("left: '\(s.name)' (\(s.peerID)) forgotten here; an admin removes it with: ferry peers rm \(s.name)")
        }
    }
}

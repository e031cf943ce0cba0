import FerryTestSupport
import Foundation
import Testing

/// ferry-wg's command line as wireguard-go's users know it: --version, --help, clear
/// messages and a non-zero exit for the usual failures, clean exit on signals and on
/// `ip link del`, background mode that returns once the interface and socket exist.
@Suite(.enabled(if: FerryWGBinary.available, "SKIPPED (ferry-wg not built)"))
struct CLITests {
    static let ferry = FerryWGBinary.path

    @Test func versionAndHelp() throws {
        #expect(try run([CLITests.ferry, "--version"]).hasPrefix("ferry-wg v"))
        #expect(try run([CLITests.ferry, "--help"]).contains("Usage: ferry-wg [-f/--foreground] INTERFACE-NAME"))
        let none = runStatus([CLITests.ferry])
        #expect(none.status == 2 && none.output.contains("Usage"))
        let unknown = runStatus([CLITests.ferry, "--frobnicate", "wg0"])
        #expect(unknown.status == 2 && unknown.output.contains("unknown option --frobnicate"))
    }

    @Test(arguments: ["", "a/b", "sixteen-chars-xx", ".."])
    func badNameIsRefused(name: String) {
        let result = runStatus([CLITests.ferry, "-f", name])
        #expect(result.status == 2)
        #expect(result.output.contains("invalid interface name"), "\(result.output)")
        #expect(!FileManager.default.fileExists(atPath: uapiSocketPath(name)) || name.isEmpty)
    }
}

/// The CLI cases that need root and namespaces.
@Suite(.needsRootAndFerryWG)
struct CLIRootTests {
    static let ferry = FerryWGBinary.path

    /// Starts `ferry-wg -f NAME` in `ns` and waits for its socket.
    static func foreground(in ns: NetworkNamespace, _ name: String = uniqueName("fc"), arguments: [String] = ["-f"],
                           environment: [String: String] = ["LOG_LEVEL": "verbose"]) throws -> (BackgroundProcess, String) {
        let daemon = try ns.spawn([ferry] + arguments + [name], environment: environment)
        #expect(waitUntil(timeout: 10) { FileManager.default.fileExists(atPath: uapiSocketPath(name)) }, "\(daemon.output)")
        return (daemon, name)
    }

    /// Waits for the daemon to exit and checks that it left nothing behind.
    static func expectGone(_ daemon: BackgroundProcess, _ name: String, in ns: NetworkNamespace, status: Int32 = 0) {
        #expect(waitUntil(timeout: 10) { !daemon.isRunning }, "ferry-wg did not exit: \(daemon.output)")
        if !daemon.isRunning { #expect(daemon.process.terminationStatus == status, "\(daemon.output)") }
        #expect(!FileManager.default.fileExists(atPath: uapiSocketPath(name)))
        #expect(waitUntil(timeout: 5) { !ns.hasInterface(name) })
    }

    @Test(arguments: [SIGTERM, SIGINT])
    func signalStopsTheDaemon(signal: Int32) throws {
        let ns = try NetworkNamespace(prefix: "fcs")
        defer { ns.close() }
        let (daemon, name) = try CLIRootTests.foreground(in: ns)
        daemon.signal(signal)
        CLIRootTests.expectGone(daemon, name, in: ns)
    }

    @Test func deletingTheInterfaceStopsTheDaemon() throws {
        let ns = try NetworkNamespace(prefix: "fcd")
        defer { ns.close() }
        let (daemon, name) = try CLIRootTests.foreground(in: ns)
        try ns.exec(["ip", "link", "del", name])
        CLIRootTests.expectGone(daemon, name, in: ns)
    }

    @Test func removingTheSocketStopsTheDaemon() throws {
        let ns = try NetworkNamespace(prefix: "fcr")
        defer { ns.close() }
        let (daemon, name) = try CLIRootTests.foreground(in: ns)
        try FileManager.default.removeItem(atPath: uapiSocketPath(name))
        CLIRootTests.expectGone(daemon, name, in: ns)
    }

    @Test func backgroundModeReturnsOnceInterfaceAndSocketExist() throws {
        let ns = try NetworkNamespace(prefix: "fcb")
        defer { ns.close() }
        let name = uniqueName("fb")
        // Started with an extra descriptor open (9, not close-on-exec), as a shell or a test
        // harness may leave one: the daemon must not keep it (wireguard-go does).
        try ns.exec(["bash", "-c", "exec 9</etc/hostname; exec \"$0\" \"$1\"", CLIRootTests.ferry, name])
        // No waiting: both exist when the command has returned.
        #expect(FileManager.default.fileExists(atPath: uapiSocketPath(name)))
        #expect(ns.hasInterface(name))
        let pids = Processes.daemons(interface: name)
        #expect(pids.count == 1, "daemons for \(name): \(pids)")
        defer { for pid in pids where Processes.isAlive(pid) { kill(pid, SIGKILL) } }
        let inherited = pids.flatMap { pid in
            ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")) ?? []).compactMap {
                try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\($0)")
            }
        }
        #expect(!inherited.contains("/etc/hostname") && !inherited.contains { $0.hasPrefix("pipe:") }, "\(inherited)")
        // The interface starts with wireguard-go's MTU, and wg talks to the daemon.
        #expect(try ns.exec(["ip", "link", "show", "dev", name]).contains("mtu 1420"))
        #expect(try ns.exec(["wg", "show", name, "listen-port"]).trimmingCharacters(in: .whitespacesAndNewlines) != "")
        try ns.exec(["ip", "link", "del", name])
        #expect(waitUntil(timeout: 10) { pids.allSatisfy { !Processes.isAlive($0) } })
        #expect(!FileManager.default.fileExists(atPath: uapiSocketPath(name)))
    }

    @Test func foregroundByEnvironmentAndLogLevels() throws {
        let ns = try NetworkNamespace(prefix: "fcl")
        defer { ns.close() }
        // WG_PROCESS_FOREGROUND=1 without -f: the process we started is the daemon.
        let (verbose, name) = try CLIRootTests.foreground(in: ns, arguments: [],
                                                          environment: ["WG_PROCESS_FOREGROUND": "1", "LOG_LEVEL": "verbose"])
        #expect(verbose.isRunning)
        try ns.exec(["wg", "set", name, "listen-port", "0"])
        verbose.signal(SIGTERM)
        CLIRootTests.expectGone(verbose, name, in: ns)
        #expect(verbose.output.contains("DEBUG: (\(name))") && verbose.output.contains("UAPI"), "\(verbose.output)")
        // LOG_LEVEL=error: a normal life prints nothing.
        let (quiet, other) = try CLIRootTests.foreground(in: ns, environment: ["LOG_LEVEL": "error"])
        try ns.exec(["wg", "set", other, "listen-port", "0"])
        quiet.signal(SIGTERM)
        CLIRootTests.expectGone(quiet, other, in: ns)
        #expect(quiet.output.isEmpty, "\(quiet.output)")
    }

    @Test func takenInterfaceNameIsRefused() throws {
        let ns = try NetworkNamespace(prefix: "fct")
        defer { ns.close() }
        // A name another kind of interface has (a veth: this kernel may have no dummy module).
        let dummy = uniqueName("fd")
        try ns.exec(["ip", "link", "add", dummy, "type", "veth", "peer", "name", uniqueName("fp")])
        let onDummy = runStatus(["ip", "netns", "exec", ns.name, CLIRootTests.ferry, "-f", dummy])
        #expect(onDummy.status == 1 && onDummy.output.contains("cannot create interface \(dummy): the name is taken"), "\(onDummy.output)")
        #expect(!FileManager.default.fileExists(atPath: uapiSocketPath(dummy)))
        // A name a running ferry-wg has: the second one fails and leaves the first alone.
        let (first, name) = try CLIRootTests.foreground(in: ns)
        let second = runStatus(["ip", "netns", "exec", ns.name, CLIRootTests.ferry, "-f", name])
        #expect(second.status == 1 && second.output.contains("the name is taken"), "\(second.output)")
        #expect(first.isRunning && FileManager.default.fileExists(atPath: uapiSocketPath(name)))
        #expect((try? ns.exec(["wg", "show", name])) != nil)
        first.signal(SIGTERM)
        CLIRootTests.expectGone(first, name, in: ns)
    }

    @Test func socketInUseIsRefused() throws {
        let ns = try NetworkNamespace(prefix: "fcu"), other = try NetworkNamespace(prefix: "fcv")
        defer {
            ns.close()
            other.close()
        }
        let (first, name) = try CLIRootTests.foreground(in: ns)
        // Same name in another namespace: the TUN can be made there, the socket is taken.
        let second = runStatus(["ip", "netns", "exec", other.name, CLIRootTests.ferry, "-f", name])
        #expect(second.status == 1 && second.output.contains("UAPI socket \(uapiSocketPath(name)) is in use"), "\(second.output)")
        #expect(!other.hasInterface(name), "the refused daemon left its interface behind")
        #expect(first.isRunning && (try? ns.exec(["wg", "show", name])) != nil)
        first.signal(SIGTERM)
        CLIRootTests.expectGone(first, name, in: ns)
    }

    @Test func notRootIsRefusedClearly() throws {
        let result = runStatus(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                                CLIRootTests.ferry, "-f", uniqueName("fn")])
        #expect(result.status == 1 && result.output.contains("permission denied"), "\(result.output)")
    }
}

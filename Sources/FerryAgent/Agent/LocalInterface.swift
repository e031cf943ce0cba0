import FerryCore
import FerrySystem
import Foundation
import WireGuard

/// The machine's side of one WireGuard interface that ip(8) sees: creating it (the
/// kernel's wireguard link type where the module exists, else a userspace daemon such as
/// ferry-wg, which creates the link and its UAPI socket and goes to the background),
/// its addresses, MTU and routes, and deleting it (which also ends a userspace daemon:
/// ferry-wg and wireguard-go exit when their interface goes).
public struct LocalInterface: Sendable {
    public enum Backend: String, Sendable { case kernel, userspace }

    public let name: String
    let runner: any CommandRunner

    public init(name: String, runner: any CommandRunner = ProcessRunner()) {
        self.name = name
        self.runner = runner
    }

    public func exists() async -> Bool {
        (try? await runner.run(["ip", "link", "show", "dev", name], stdin: nil).succeeded) ?? false
    }

    /// Creates the interface; returns which backend carries it.
    public func create(userspace: String) async throws(FerryError) -> Backend {
        if (try? await runner.run(["ip", "link", "add", "dev", name, "type", "wireguard"], stdin: nil).succeeded) == true {
            return .kernel
        }
        // ferry-wg (like wireguard-go) exits 0 once its background child runs. LOG_LEVEL
        // would keep its output on our pipes, so it is unset.
        let result: CommandResult
        do { result = try await runner.run(["env", "-u", "LOG_LEVEL", userspace, name], stdin: nil) } catch {
            throw .failure("cannot start \(userspace): \(error); give the userspace WireGuard with --userspace PATH")
        }
        guard result.succeeded else {
            let why = result.stderr.split(separator: "\n").last.map(String.init) ?? "exit \(result.status)"
            throw .failure("\(userspace) could not create \(name): \(why)")
        }
        for _ in 0..<50 where !FileManager.default.fileExists(atPath: "/var/run/wireguard/\(name).sock") {
            try? await Task.sleep(for: .milliseconds(100))
        }
        return .userspace
    }

    /// Addresses exactly `addresses` (others removed), the MTU, and the link up.
    public func configure(addresses: [IPPrefix], mtu: Int) async throws(FerryError) {
        do { try await InterfaceAddresses.sync(name, to: addresses, runner: runner) } catch {
            throw .failure("cannot set the addresses of \(name): \(error)")
        }
        try await check(["ip", "link", "set", "dev", name, "mtu", String(mtu), "up"])
    }

    /// Routes exactly `routes` through the interface, among the routes ferry installed
    /// (marked `proto static`); others on the link (the kernel's own) are left alone.
    public func syncRoutes(_ routes: [IPPrefix]) async throws(FerryError) {
        let current = await installedRoutes()
        for r in routes where !current.contains(r) {
            try await check(["ip", r.address.isIPv4 ? "-4" : "-6", "route", "replace", r.description, "dev", name, "proto", "static"])
        }
        for r in current where !routes.contains(r) {
            _ = try? await runner.run(["ip", r.address.isIPv4 ? "-4" : "-6", "route", "del", r.description, "dev", name, "proto", "static"], stdin: nil)
        }
    }

    /// A full tunnel as wg-quick sets it up: the default route in its own table, used by
    /// every packet but the tunnel's own (marked), and the main table's more specific routes
    /// still first (`suppress_prefixlength 0`). Without default routes the rules go again.
    public func syncDefaultRoutes(_ defaults: [IPPrefix], table: UInt32) async throws(FerryError) {
        for (family, any) in [("-4", "0.0.0.0/0"), ("-6", "::/0")] {
            let wanted = defaults.contains { $0.description == any }
            let rules = (try? await runner.run(["ip", family, "rule", "show"], stdin: nil).stdout) ?? ""
            let marked = rules.contains("lookup \(table)")
            if wanted {
                try await check(["ip", family, "route", "replace", any, "dev", name, "table", String(table), "proto", "static"])
                if !marked {
                    try await check(["ip", family, "rule", "add", "not", "fwmark", String(table), "table", String(table)])
                    try await check(["ip", family, "rule", "add", "table", "main", "suppress_prefixlength", "0"])
                }
                if family == "-4" { _ = try? await runner.run(["sysctl", "-q", "-w", "net.ipv4.conf.all.src_valid_mark=1"], stdin: nil) }
            } else if await routesDefault(family: family, table: table) {
                // Only when the table's default goes through this interface: the rules may
                // be wg-quick's for another one.
                _ = try? await runner.run(["ip", family, "route", "del", any, "dev", name, "table", String(table)], stdin: nil)
                await removePolicyRules(family: family, table: table)
            }
        }
    }

    /// Whether `table` holds a route through this interface (the full tunnel's default).
    func routesDefault(family: String, table: UInt32) async -> Bool {
        let routes = (try? await runner.run(["ip", family, "route", "show", "table", String(table)], stdin: nil).stdout) ?? ""
        return routes.contains("dev \(name) ") || routes.hasSuffix("dev \(name)\n")
    }

    func removePolicyRules(family: String, table: UInt32) async {
        _ = try? await runner.run(["ip", family, "rule", "del", "not", "fwmark", String(table), "table", String(table)], stdin: nil)
        _ = try? await runner.run(["ip", family, "rule", "del", "table", "main", "suppress_prefixlength", "0"], stdin: nil)
    }

    /// Deletes the interface (and the agent's mesh firewall table and full-tunnel rules).
    public func delete() async throws(FerryError) {
        _ = try? await runner.run(["nft", "delete", "table", "inet", MeshFirewall.tableName(name)], stdin: nil)
        for family in ["-4", "-6"] {
            if await routesDefault(family: family, table: InterfacePlan.fullTunnelMark) {
                await removePolicyRules(family: family, table: InterfacePlan.fullTunnelMark)
            }
        }
        guard await exists() else { return }
        try await check(["ip", "link", "del", "dev", name])
    }

    public func currentAddresses() async -> [IPPrefix] { await InterfaceAddresses.current(name, runner: runner) }

    public func installedRoutes() async -> [IPPrefix] {
        var out: [IPPrefix] = []
        for family in ["-4", "-6"] {
            guard let r = try? await runner.run(["ip", family, "route", "show", "dev", name, "proto", "static"], stdin: nil),
                  r.succeeded else { continue }
            for line in r.stdout.split(separator: "\n") {
                guard let first = line.split(separator: " ").first else { continue }
                if let p = IPPrefix(first) { out.append(p.network) }
                else if let a = IPAddress(first), let p = IPPrefix(a, a.isIPv4 ? 32 : 128) { out.append(p) }
            }
        }
        return out
    }

    func check(_ argv: [String]) async throws(FerryError) {
        let r: CommandResult
        do { r = try await runner.run(argv, stdin: nil) } catch { throw .failure("\(argv.joined(separator: " ")): \(error)") }
        guard r.succeeded else {
            throw .failure("\(argv.joined(separator: " ")) failed: \(r.stderr.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
    }

    /// The userspace WireGuard to start: `explicit`, else `ferry-wg` next to this
    /// program, else `ferry-wg` or `wireguard-go` on PATH.
    public static func findUserspace(explicit: String?, environment: [String: String] = ProcessInfo.processInfo.environment) -> String? {
        if let explicit { return explicit }
        if let e = environment["FERRY_USERSPACE"], !e.isEmpty { return e }
        let me = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        let beside = me.deletingLastPathComponent().appendingPathComponent("ferry-wg").path
        if FileManager.default.isExecutableFile(atPath: beside) { return beside }
        for dir in (environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":") {
            for n in ["ferry-wg", "wireguard-go"] where FileManager.default.isExecutableFile(atPath: "\(dir)/\(n)") {
                return "\(dir)/\(n)"
            }
        }
        return nil
    }
}

import FerryCore
import Foundation
import WireGuard

/// Drives an interface with wg(8) and ip(8). Creates it when missing: the kernel's
/// wireguard link type first, then a userspace implementation (`userspace`, by default
/// `$WG_QUICK_USERSPACE_IMPLEMENTATION` or `wireguard-go`), as wg-quick does.
public struct WGToolInterface: InterfaceController {
    public let name: String
    let runner: any CommandRunner
    let userspace: String
    /// Where configuration files are written for `wg syncconf` (mode 0700 folder, 0600 files).
    let scratch: URL

    public init(name: String, scratch: URL, runner: any CommandRunner = ProcessRunner(), userspace: String? = nil) {
        self.name = name
        self.scratch = scratch
        self.runner = runner
        self.userspace = userspace ?? ProcessInfo.processInfo.environment["WG_QUICK_USERSPACE_IMPLEMENTATION"] ?? "wireguard-go"
    }

    public func ensureUp(addresses: [IPPrefix], mtu: Int) async throws {
        if try await !runner.run(["ip", "link", "show", "dev", name], stdin: nil).succeeded {
            if try await !runner.run(["ip", "link", "add", "dev", name, "type", "wireguard"], stdin: nil).succeeded {
                // In the foreground (-f, which wireguard-go and ferry-wg both take), as
                // ferryd's child; it keeps running if ferryd stops, like wg-quick's.
                try runner.launch([userspace, "-f", name])
                try await waitForLink()
            }
        }
        // Stale addresses go too (a network re-addressed, a gateway moved to another segment).
        try await InterfaceAddresses.sync(name, to: addresses, runner: runner)
        try await runner.check(["ip", "link", "set", "dev", name, "mtu", String(mtu), "up"])
        // A gateway forwards: IPv4 and IPv6 forwarding on, in this network namespace. Not
        // written when both are on already: a container sees /proc/sys read-only, and its
        // pod sets them (dist/kubernetes/gateway/deployment.yaml).
        if !Self.forwardingIsOn() {
            try await runner.check(["sysctl", "-q", "-e", "-w", "net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1"])
        }
    }

    /// Both forwarding switches of this process's network namespace read 1.
    /// A host booted without IPv6 has no IPv6 switch: only IPv4's counts there (the pod's
    /// init container skips the missing key with `sysctl -e`).
    static func forwardingIsOn() -> Bool {
        func on(_ path: String) -> Bool? {
            (try? String(contentsOfFile: path, encoding: .utf8)).map { $0.trimmingCharacters(in: .whitespacesAndNewlines) == "1" }
        }
        let v6 = "/proc/sys/net/ipv6/conf/all/forwarding"
        return on("/proc/sys/net/ipv4/ip_forward") == true
            && (on(v6) ?? !FileManager.default.fileExists(atPath: "/proc/sys/net/ipv6"))
    }

    private func waitForLink() async throws {
        for _ in 0..<50 {
            if try await runner.run(["ip", "link", "show", "dev", name], stdin: nil).succeeded { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw CommandError(command: [userspace, name], result: CommandResult(status: 1, stdout: "", stderr: "interface did not appear"))
    }

    public func apply(_ config: WGQuickConfig) async throws {
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let file = scratch.appendingPathComponent("\(name).conf")
        // Created 0600 before the key is written into it.
        FileManager.default.createFile(atPath: file.path, contents: nil, attributes: [.posixPermissions: 0o600])
        try Data(config.renderForWG().utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        try await runner.check(["wg", "syncconf", name, file.path])
    }

    public func status() async throws -> [InterfacePeerStatus] {
        WGDump.parse(try await runner.check(["wg", "show", name, "dump"]).stdout)
    }
}

/// Loads nftables rulesets with `nft -f -`.
public struct NFTFirewall: FirewallController {
    let runner: any CommandRunner
    public init(runner: any CommandRunner = ProcessRunner()) { self.runner = runner }

    public func apply(nftables: String) async throws {
        try await runner.check(["nft", "-f", "-"], stdin: nftables)
    }

    public func remove(interface: String) async throws {
        _ = try await runner.run(["nft", "delete", "table", "inet", FirewallPlan.tableName(interface)], stdin: nil)
        for family in ["-4", "-6"] {
            for rule in Self.guardRules(interface) {
                while try await runner.run(["ip", family, "rule", "del"] + rule, stdin: nil).succeeded {}
            }
        }
    }

    public func live(interface: String) async throws -> String? {
        let r = try await runner.run(["nft", "-s", "list", "table", "inet", FirewallPlan.tableName(interface)], stdin: nil)
        return r.succeeded ? r.stdout : nil
    }

    /// `iif IFNAME fwmark MARK/MARK goto 32766` (the main table's rule, as if nothing were
    /// here) before `iif IFNAME prohibit`; rules an admin put before 32760 still come first,
    /// and the local table (0) still delivers to the host itself, where the input chain decides.
    static func guardRules(_ interface: String) -> [[String]] {
        let mark = "0x" + String(FirewallPlan.forwardMark, radix: 16)
        return [["pref", "32760", "iif", interface, "fwmark", "\(mark)/\(mark)", "goto", "32766"],
                ["pref", "32761", "iif", interface, "prohibit"]]
    }

    public func guardForwarding(interface: String) async throws {
        for family in ["-4", "-6"] {
            let existing = try await runner.check(["ip", family, "rule", "show", "iif", interface]).stdout
            let hasLookup = existing.contains("32760:"), hasProhibit = existing.contains("32761:")
            let rules = Self.guardRules(interface)
            if !hasLookup { try await runner.check(["ip", family, "rule", "add"] + rules[0]) }
            if !hasProhibit { try await runner.check(["ip", family, "rule", "add"] + rules[1]) }
        }
    }
}

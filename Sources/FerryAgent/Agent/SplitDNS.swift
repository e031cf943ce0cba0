import FerryCore
import FerrySystem
import Foundation

/// Sends the network's zone to ferryd's DNS server on this machine (docs/dns.md):
///
/// - with systemd-resolved (`resolvectl status` works): the interface gets the server and
///   the routing-only domain `~ZONE`, so only the zone's names go through the tunnel, and
///   the settings go with the interface;
/// - without it: the fallback rewrites `/etc/resolv.conf` (or `$FERRY_RESOLV_CONF`) with
///   the server first and the zone first among the search domains, keeping the machine's
///   own servers after it (glibc moves to the next server when ferryd refuses a name
///   outside the zone). The file's exact bytes are saved in the state folder first and put
///   back by `ferry down`, by the agent's exit, and by the next `ferry up` or `ferry down`
///   after a crash.
public struct SplitDNS: Sendable {
    public let interface: String
    let runner: any CommandRunner
    /// The file the fallback edits in place (it may be a symlink or a bind mount).
    public let resolvConf: String
    /// Where the original bytes are kept while the fallback is active.
    public let backup: String

    public init(interface: String, directory: StateDirectory, runner: any CommandRunner,
                environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.interface = interface
        self.runner = runner
        resolvConf = environment["FERRY_RESOLV_CONF"].flatMap { $0.isEmpty ? nil : $0 } ?? "/etc/resolv.conf"
        backup = directory.file("resolv.conf.ferry-backup")
    }

    public enum Mode: String, Sendable { case resolved = "systemd-resolved", resolvConf = "resolv.conf" }

    func resolvedRuns() async -> Bool {
        (try? await runner.run(["resolvectl", "status"], stdin: nil))?.succeeded ?? false
    }

    /// Points the zone at `dns` (nil: nothing to configure, undoes an earlier setting).
    /// Returns what it did, for the log.
    public func apply(_ dns: NetworkMap.DNSPart?) async throws(FerryError) -> String? {
        guard let dns else {
            try await restore()
            return nil
        }
        if await resolvedRuns() {
            try restoreFile()
            do {
                _ = try await runner.check(["resolvectl", "dns", interface, dns.server])
                _ = try await runner.check(["resolvectl", "domain", interface, "~\(dns.zone)"])
                // Only the zone through this link, whatever else resolved would route here.
                _ = try? await runner.run(["resolvectl", "default-route", interface, "false"], stdin: nil)
            } catch {
                throw FerryError(.failure, "resolvectl could not set DNS for \(interface): \(error)")
            }
            return "DNS: \(dns.zone) via \(dns.server) (systemd-resolved, \(interface))"
        }
        let original: [UInt8]
        if let saved = FileManager.default.contents(atPath: backup) {
            original = Array(saved)
        } else {
            guard let current = FileManager.default.contents(atPath: resolvConf) else {
                throw FerryError(.failure, "cannot read \(resolvConf) to add the zone \(dns.zone)")
            }
            original = Array(current)
            try AtomicFile.write(original, to: backup, mode: 0o600)
        }
        let text = Self.render(original: String(decoding: original, as: UTF8.self), server: dns.server, zone: dns.zone)
        try Self.writeInPlace(Array(text.utf8), to: resolvConf)
        return "DNS: \(dns.zone) via \(dns.server) (\(resolvConf); the original is restored by 'ferry down')"
    }

    /// Undoes `apply`: the saved resolv.conf goes back byte for byte; resolved's settings
    /// for the interface are reverted (they also go with the interface).
    public func restore() async throws(FerryError) {
        try restoreFile()
        if await resolvedRuns() { _ = try? await runner.run(["resolvectl", "revert", interface], stdin: nil) }
    }

    /// Puts a saved resolv.conf back (after a crash too); nothing when none is saved.
    public func restoreFile() throws(FerryError) {
        guard let saved = FileManager.default.contents(atPath: backup) else { return }
        try Self.writeInPlace(Array(saved), to: resolvConf)
        unlink(backup)
    }

    /// The fallback's file: our server first, then up to two of the machine's (glibc reads
    /// three), the zone first among the search domains, every other line kept.
    static func render(original: String, server: String, zone: String) -> String {
        var servers: [String] = [], search: [String] = [], rest: [String] = []
        for line in original.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            switch words.first {
            case "nameserver" where words.count >= 2: if words[1] != server { servers.append(words[1]) }
            case "search", "domain": search += words.dropFirst().filter { $0 != zone }
            default: if !line.isEmpty { rest.append(line) }
            }
        }
        var out = ["# ferry: \(zone) via \(server); restored by 'ferry down'", "nameserver \(server)"]
        out += servers.prefix(2).map { "nameserver \($0)" }
        out.append((["search", zone] + search).joined(separator: " "))
        out += rest.filter { !$0.hasPrefix("# ferry:") }
        return out.joined(separator: "\n") + "\n"
    }

    /// Truncates and writes the file where it is: /etc/resolv.conf is often a symlink or a
    /// bind mount (containers), which a rename would replace or fail on.
    static func writeInPlace(_ bytes: [UInt8], to path: String) throws(FerryError) {
        let fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC)
        guard fd >= 0 else { throw FerryError(.failure, "cannot write \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeBytes { buf -> Int in
                guard let base = buf.baseAddress else { return 0 }
                return Glibc.write(fd, base + written, buf.count - written)
            }
            if n > 0 { written += n } else if n < 0, errno == EINTR { continue } else {
                throw FerryError(.failure, "cannot write \(path): \(String(cString: strerror(errno)))")
            }
        }
    }
}

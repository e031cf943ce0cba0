import FerryCore
import WireGuard

/// The addresses of an interface made equal to a list through ip(8): missing ones added,
/// stale ones removed (IPv6 link-local addresses the kernel adds are left alone). The one
/// path the gateway sync and the agent both converge through.
public enum InterfaceAddresses {
    /// What the interface holds now (empty when it cannot be read).
    public static func current(_ name: String, runner: any CommandRunner) async -> [IPPrefix] {
        guard let r = try? await runner.run(["ip", "-o", "address", "show", "dev", name], stdin: nil), r.succeeded else { return [] }
        return r.stdout.split(separator: "\n").compactMap { line in
            let f = line.split(separator: " ")
            guard let i = f.firstIndex(where: { $0 == "inet" || $0 == "inet6" }), i + 1 < f.count else { return nil }
            return IPPrefix(f[i + 1])
        }.filter { !($0.address.description.hasPrefix("fe80:")) }
    }

    /// Adds what is missing (failing loudly) and removes what is stale (best effort).
    public static func sync(_ name: String, to addresses: [IPPrefix], runner: any CommandRunner) async throws {
        let now = await current(name, runner: runner)
        for a in addresses where !now.contains(a) {
            try await runner.check(["ip", a.address.isIPv4 ? "-4" : "-6", "address", "replace", a.description, "dev", name])
        }
        for a in now where !addresses.contains(a) {
            _ = try? await runner.run(["ip", "address", "del", a.description, "dev", name], stdin: nil)
        }
    }
}

import FerryTestSupport
import Foundation
import WireGuard

/// The userspace daemons the tests run: ours, and the reference from Debian's packages.
enum Implementation: String, Sendable, CaseIterable, CustomStringConvertible {
    case ferry = "ferry-wg"
    case wireguardGo = "wireguard-go"

    var description: String { rawValue }

    /// The other one: ferry-wg's peer in an interop test.
    var other: Implementation { self == .ferry ? .wireguardGo : .ferry }

    var executable: String { self == .ferry ? FerryWGBinary.path : "wireguard-go" }
}

/// The ferry-wg executable built with the tests: next to the test bundle, or in the
/// package's debug build directory.
enum FerryWGBinary {
    static let path: String = {
        let bundleDirectory = ((try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? "")
            .split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
        let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()  // Support
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
        let candidates = [bundleDirectory + "/ferry-wg", packageRoot + "/.build/debug/ferry-wg"]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? candidates[1]
    }()

    static var available: Bool { FileManager.default.isExecutableFile(atPath: path) }
}

/// The UAPI socket of an interface; /var/run/wireguard is shared by every namespace.
func uapiSocketPath(_ interface: String) -> String { "/var/run/wireguard/\(interface).sock" }

/// One WireGuard interface run in the foreground by ferry-wg or wireguard-go inside a
/// namespace, configured with `wg` as a user would.
final class WGInterface: @unchecked Sendable {
    let implementation: Implementation
    let ns: NetworkNamespace
    let name: String
    let process: BackgroundProcess
    private(set) var privateKey: PrivateKey
    var publicKey: PublicKey { privateKey.publicKey }
    var socketPath: String { uapiSocketPath(name) }

    /// Starts the daemon, waits for its socket and gives it a private key and `listenPort`.
    init(_ implementation: Implementation, in ns: NetworkNamespace, listenPort: UInt16 = 51820,
         environment: [String: String] = [:]) throws {
        self.implementation = implementation
        self.ns = ns
        name = uniqueName(implementation == .ferry ? "fw" : "gw")
        privateKey = PrivateKey.generate()
        process = try ns.spawn([implementation.executable, "-f", name],
                               environment: ["LOG_LEVEL": "verbose"].merging(environment) { $1 })
        let path = socketPath, process = self.process
        guard waitUntil(timeout: 10, { FileManager.default.fileExists(atPath: path) || !process.isRunning }),
              process.isRunning else {
            throw CommandFailure(command: [implementation.executable, "-f", name], status: -1,
                                 output: "no UAPI socket: \(process.output)")
        }
        try wg(["set", name, "private-key", "/dev/stdin", "listen-port", "\(listenPort)"], input: privateKey.base64)
    }

    /// `wg ARGS` inside the namespace.
    @discardableResult
    func wg(_ arguments: [String], input: String? = nil) throws -> String {
        try ns.exec(["wg"] + arguments, input: input)
    }

    /// Gives the interface its inner addresses and brings it up.
    func up(addresses: [String], mtu: Int? = nil) throws {
        for a in addresses {
            try ns.exec(["ip", "addr", "add", a, "dev", name] + (a.contains(":") ? ["nodad"] : []))
        }
        if let mtu { try ns.exec(["ip", "link", "set", name, "mtu", "\(mtu)"]) }
        try ns.exec(["ip", "link", "set", name, "up"])
    }

    /// Replaces the private key (`wg set IF private-key`).
    func setPrivateKey(_ key: PrivateKey) throws {
        try wg(["set", name, "private-key", "/dev/stdin"], input: key.base64)
        privateKey = key
    }

    /// Adds (or updates) `peer` with `wg set IF peer …`.
    func addPeer(_ peer: PublicKey, allowedIPs: [String], endpoint: String? = nil,
                 presharedKey: PresharedKey? = nil, keepalive: Int? = nil) throws {
        var args = ["set", name, "peer", peer.base64, "allowed-ips", allowedIPs.joined(separator: ",")]
        if let endpoint { args += ["endpoint", endpoint] }
        if let keepalive { args += ["persistent-keepalive", "\(keepalive)"] }
        if presharedKey != nil { args += ["preshared-key", "/dev/stdin"] }
        try wg(args, input: presharedKey?.base64)
    }

    func removePeer(_ peer: PublicKey) throws {
        try wg(["set", name, "peer", peer.base64, "remove"])
    }

    /// One peer line of `wg show IF dump`.
    struct PeerDump: Equatable {
        var publicKey: String
        var presharedKey: String
        var endpoint: String
        var allowedIPs: String
        var latestHandshake: Int
        var rx: UInt64
        var tx: UInt64
        var keepalive: String
    }

    /// The peers as `wg show IF dump` lists them.
    func peers() throws -> [PeerDump] {
        try wg(["show", name, "dump"]).split(separator: "\n").dropFirst().compactMap { line in
            let f = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard f.count >= 8 else { return nil }
            return PeerDump(publicKey: f[0], presharedKey: f[1], endpoint: f[2], allowedIPs: f[3],
                            latestHandshake: Int(f[4]) ?? 0, rx: UInt64(f[5]) ?? 0, tx: UInt64(f[6]) ?? 0, keepalive: f[7])
        }
    }

    func peer(_ key: PublicKey) throws -> PeerDump? {
        try peers().first { $0.publicKey == key.base64 }
    }

    /// The interface's packet counters (what the daemon wrote to and read from the TUN).
    func linkStatistics() throws -> (rxPackets: UInt64, txPackets: UInt64) {
        func read(_ counter: String) throws -> UInt64 {
            UInt64(try ns.exec(["cat", "/sys/class/net/\(name)/statistics/\(counter)"])
                .trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        }
        return (try read("rx_packets"), try read("tx_packets"))
    }

    /// Stops the daemon; a socket a killed daemon left behind is removed.
    func close() {
        process.stop()
        if FileManager.default.fileExists(atPath: socketPath) { try? FileManager.default.removeItem(atPath: socketPath) }
    }
}

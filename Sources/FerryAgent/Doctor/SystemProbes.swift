import Foundation
import FerryCore
import WireGuard

/// The probes over this machine: ping(8) and ip(8) through a `CommandRunner` (so a test can
/// run them inside a network namespace), the UAPI socket or wg(8) for the interface.
public struct SystemProbes: TunnelPinger, RouteLookup, InterfaceReader {
    public let interface: String
    let runner: any CommandRunner
    let socketDirectory: String

    public init(interface: String, runner: any CommandRunner = ProcessRunner(), socketDirectory: String = "/var/run/wireguard") {
        self.interface = interface
        self.runner = runner
        self.socketDirectory = socketDirectory
    }

    // MARK: ping

    public func ping(_ target: IPAddress, packetSize: Int, interface: String, timeout: Duration) async -> PingOutcome {
        // The payload is what is left after the IP header and the 8-byte ICMP header.
        let payload = packetSize - (target.isIPv4 ? 28 : 48)
        guard payload >= 0 else { return .failed("a \(packetSize)-byte packet is too small to ping with") }
        let wait = max(1, Int(timeout.components.seconds) + (timeout.components.attoseconds > 0 ? 1 : 0))
        let argv = ["ping", target.isIPv4 ? "-4" : "-6", "-n", "-q", "-M", "do", "-s", String(payload), "-c", "1",
                    "-W", String(wait), "-I", interface, target.description]
        guard let r = try? await runner.run(argv, stdin: nil) else { return .failed("cannot run ping") }
        return Self.pingOutcome(status: r.status, output: r.stdout + r.stderr)
    }

    /// ping exits 0 on a reply, 1 without one, 2 on an error; a packet above the route's
    /// MTU is refused locally with "message too long, mtu=N".
    static func pingOutcome(status: Int32, output text: String) -> PingOutcome {
        if let range = text.range(of: "message too long", options: .caseInsensitive) {
            let rest = text[range.upperBound...]
            let mtu = rest.range(of: "mtu=").flatMap { m in Int(rest[m.upperBound...].prefix { $0.isNumber }) }
            return .tooLarge(mtu: mtu)
        }
        switch status {
        case 0: return .reply
        case 1: return .noReply
        default: return .failed(text.split(separator: "\n").last.map(String.init) ?? "ping exited \(status)")
        }
    }

    // MARK: routes

    public func route(to address: IPAddress) async throws -> RouteInfo {
        let r = try await runner.check(["ip", address.isIPv4 ? "-4" : "-6", "-j", "route", "get", address.description])
        return try Self.parseRoute(r.stdout)
    }

    struct RouteJSON: Decodable {
        var type: String?
        var gateway: String?
        var dev: String?
    }

    static func parseRoute(_ json: String) throws -> RouteInfo {
        let routes = try JSONDecoder().decode([RouteJSON].self, from: Data(json.utf8))
        guard let r = routes.first else { return RouteInfo(device: nil, type: "no route") }
        if let type = r.type, type != "unicast" { return RouteInfo(device: nil, via: r.gateway, type: type) }
        return RouteInfo(device: r.dev, via: r.gateway)
    }

    // MARK: the interface

    public func read() async throws -> UAPIDeviceStatus {
        let socket = "\(socketDirectory)/\(interface).sock"
        if FileManager.default.fileExists(atPath: socket) {
            return try UAPI.parseStatus(try UAPISocket.exchange(socket, "get=1\n\n"))
        }
        return try WGShowDump.parse(try await runner.check(["wg", "show", interface, "dump"]).stdout)
    }

    struct LinkJSON: Decodable {
        struct Address: Decodable {
            var family: String?
            var local: String?
            var prefixlen: Int?
        }
        var ifname: String
        var mtu: Int?
        var addr_info: [Address]?

        var prefixes: [IPPrefix] {
            (addr_info ?? []).compactMap { a in
                guard let local = a.local, let ip = IPAddress(local) else { return nil }
                return IPPrefix(ip, a.prefixlen ?? ip.bitWidth)
            }
        }
    }

    static func parseLinks(_ json: String) throws -> [LinkJSON] {
        try JSONDecoder().decode([LinkJSON].self, from: Data(json.utf8))
    }

    /// The interface with its addresses and MTU.
    public func snapshot() async throws -> InterfaceSnapshot {
        let device = try await read()
        let links = try Self.parseLinks(try await runner.check(["ip", "-j", "address", "show", "dev", interface]).stdout)
        let link = links.first { $0.ifname == interface }
        return InterfaceSnapshot(name: interface, device: device, addresses: link?.prefixes ?? [], mtu: link?.mtu)
    }

    /// This machine's addresses outside the tunnel interface.
    public func hostAddresses() async throws -> [IPAddress] {
        let links = try Self.parseLinks(try await runner.check(["ip", "-j", "address", "show"]).stdout)
        return links.filter { $0.ifname != interface }.flatMap { $0.prefixes.map(\.address) }
    }
}

/// `wg show IFNAME dump` as a UAPI status, for interfaces without a UAPI socket (the kernel
/// module): a first line for the interface (private key, public key, listen port, fwmark),
/// then per peer: public key, preshared key, endpoint, allowed IPs, latest handshake, rx,
/// tx, persistent keepalive.
enum WGShowDump {
    struct DumpError: Error, CustomStringConvertible {
        var description: String { "wg show dump printed nothing" }
    }

    static func parse(_ text: String) throws -> UAPIDeviceStatus {
        let lines = text.split(separator: "\n")
        guard let first = lines.first else { throw DumpError() }
        let d = first.split(separator: "\t", omittingEmptySubsequences: false)
        var status = UAPIDeviceStatus()
        if d.count >= 4 {
            status.privateKey = try? PrivateKey(base64: d[0])
            status.listenPort = UInt16(d[2]) ?? 0
            status.fwmark = d[3] == "off" ? 0 : UInt32(d[3]) ?? 0
        }
        for line in lines.dropFirst() {
            let f = line.split(separator: "\t", omittingEmptySubsequences: false)
            guard f.count >= 8, let key = try? PublicKey(base64: f[0]) else { continue }
            var p = UAPIPeerStatus(publicKey: key)
            p.presharedKey = f[1] == "(none)" ? nil : try? PresharedKey(base64: f[1])
            p.endpoint = f[2] == "(none)" ? nil : Endpoint(f[2])
            p.allowedIPs = f[3] == "(none)" ? [] : f[3].split(separator: ",").compactMap { IPPrefix($0) }
            p.lastHandshakeTimeSec = Int64(f[4]) ?? 0
            p.rxBytes = UInt64(f[5]) ?? 0
            p.txBytes = UInt64(f[6]) ?? 0
            p.persistentKeepaliveInterval = f[7] == "off" ? 0 : UInt16(f[7]) ?? 0
            status.peers.append(p)
        }
        return status
    }
}

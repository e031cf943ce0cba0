import FerryCore
import FerrySystem
import Foundation
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
        guard let status = WGDump.status(try await runner.check(["wg", "show", interface, "dump"]).stdout) else {
            throw FerryError(.failure, "wg show \(interface) dump printed nothing")
        }
        return status
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

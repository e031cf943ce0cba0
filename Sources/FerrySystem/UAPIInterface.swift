import FerryCore
import Foundation
import WireGuard

/// Drives a userspace WireGuard (wireguard-go, ferry-wg) through its UAPI socket
/// `/var/run/wireguard/IFNAME.sock` with the WireGuard target's UAPI codec; links and
/// addresses through ip(8), as `WGToolInterface` does. Where there is no socket (the
/// kernel module), `SystemInterface` falls back to wg(8).
public struct UAPIInterface: InterfaceController {
    public let name: String
    public let socketPath: String
    let links: WGToolInterface

    public init(name: String, scratch: URL, runner: any CommandRunner = ProcessRunner(), socketDirectory: String = "/var/run/wireguard") {
        self.name = name
        socketPath = "\(socketDirectory)/\(name).sock"
        links = WGToolInterface(name: name, scratch: scratch, runner: runner)
    }

    public func ensureUp(addresses: [IPPrefix], mtu: Int) async throws {
        try await links.ensureUp(addresses: addresses, mtu: mtu)
    }

    public func apply(_ config: WGQuickConfig) async throws {
        let current = try UAPI.parseStatus(try UAPISocket.exchange(socketPath, "get=1\n\n"))
        guard let request = UAPIDiff.request(from: current, to: config) else { return }
        try UAPI.parseSetResponse(try UAPISocket.exchange(socketPath, UAPI.render(request)))
    }

    public func status() async throws -> [InterfacePeerStatus] {
        UAPIDiff.peerStatus(try UAPI.parseStatus(try UAPISocket.exchange(socketPath, "get=1\n\n")))
    }
}

/// Picks the backend per call: the UAPI socket when it exists, else wg(8) (kernel module).
/// `FERRY_WG_BACKEND=wg` or `=uapi` forces one (the end-to-end test runs both).
public struct SystemInterface: InterfaceController {
    public enum Backend: String, Sendable { case auto, uapi, wg }
    public let name: String
    let uapi: UAPIInterface
    let tool: WGToolInterface
    let choice: Backend

    public init(name: String, scratch: URL, runner: any CommandRunner = ProcessRunner(), backend: Backend? = nil) {
        self.name = name
        uapi = UAPIInterface(name: name, scratch: scratch, runner: runner)
        tool = WGToolInterface(name: name, scratch: scratch, runner: runner)
        choice = backend ?? ProcessInfo.processInfo.environment["FERRY_WG_BACKEND"].flatMap(Backend.init) ?? .auto
    }

    var backend: any InterfaceController {
        switch choice {
        case .uapi: uapi
        case .wg: tool
        case .auto: FileManager.default.fileExists(atPath: uapi.socketPath) ? uapi : tool
        }
    }

    public func ensureUp(addresses: [IPPrefix], mtu: Int) async throws { try await tool.ensureUp(addresses: addresses, mtu: mtu) }
    public func apply(_ config: WGQuickConfig) async throws { try await backend.apply(config) }
    public func status() async throws -> [InterfacePeerStatus] { try await backend.status() }
}

/// Why a UAPI socket exchange failed.
public struct UAPISocketError: Error, CustomStringConvertible, Sendable {
    public var path: String
    public var message: String
    public var description: String { "UAPI socket \(path): \(message)" }
}

/// One request and its answer over a Unix stream socket.
public enum UAPISocket {
    public static func exchange(_ path: String, _ request: String, timeoutSeconds: Int = 5) throws -> String {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw UAPISocketError(path: path, message: "socket: errno \(errno)") }
        defer { close(fd) }
        var tv = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let pathBytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: addr.sun_path)
        guard pathBytes.count < capacity else { throw UAPISocketError(path: path, message: "path too long") }
        withUnsafeMutableBytes(of: &addr.sun_path) { buf in
            for (i, b) in pathBytes.enumerated() { buf[i] = b }
            buf[pathBytes.count] = 0
        }
        let connected = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard connected == 0 else { throw UAPISocketError(path: path, message: "connect: errno \(errno)") }
        var out = Array(request.utf8)
        var sent = 0
        while sent < out.count {
            let n = out.withUnsafeBytes { buf -> Int in
                guard let base = buf.baseAddress else { return -1 }
                return send(fd, base + sent, buf.count - sent, Int32(MSG_NOSIGNAL))
            }
            guard n > 0 else { throw UAPISocketError(path: path, message: "send: errno \(errno)") }
            sent += n
        }
        out.removeAll()
        var answer: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while UAPI.answerLength(answer) == nil {
            guard answer.count < 64 << 20 else { throw UAPISocketError(path: path, message: "answer too large") }
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { throw UAPISocketError(path: path, message: n == 0 ? "closed before the answer ended" : "recv: errno \(errno)") }
            answer += buffer[0..<n]
        }
        let length = UAPI.answerLength(answer) ?? answer.count
        return String(decoding: answer[0..<length], as: UTF8.self)
    }
}

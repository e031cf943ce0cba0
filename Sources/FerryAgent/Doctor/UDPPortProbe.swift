import Foundation
import WireGuard

/// Sends one junk byte to a UDP endpoint from a scratch socket and waits for an ICMP error.
/// WireGuard drops a datagram that is not a message without a word and without changing any
/// state, so the probe disturbs nothing; a connected UDP socket reports ICMP port and host
/// unreachable as ECONNREFUSED and EHOSTUNREACH.
public struct SystemUDPPortProbe: UDPPortProbe {
    /// The interface's fwmark, so the probe leaves like the interface's own packets do
    /// (wg-quick's full tunnel routes everything unmarked into the tunnel).
    let fwmark: UInt32

    public init(fwmark: UInt32 = 0) { self.fwmark = fwmark }

    public func probe(_ endpoint: Endpoint, timeout: Duration) async -> UDPPortOutcome {
        let mark = fwmark
        return await withCheckedContinuation { c in
            Thread.detachNewThread { c.resume(returning: Self.probeNow(endpoint, timeout: timeout, fwmark: mark)) }
        }
    }

    /// The blocking probe, for a caller on a thread of its own (a test inside a namespace).
    public static func probeNow(_ endpoint: Endpoint, timeout: Duration, fwmark: UInt32 = 0) -> UDPPortOutcome {
        let v4 = endpoint.address.isIPv4
        let fd = socket(v4 ? AF_INET : AF_INET6, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { return .failed("socket: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        if fwmark != 0 {
            var mark = fwmark
            setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, socklen_t(MemoryLayout<UInt32>.size))
        }
        var storage = sockaddr_storage()
        let length = Self.fill(&storage, endpoint)
        let connected = withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, length) }
        }
        if connected != 0 { return classify(errno) }
        var junk: UInt8 = 0
        if send(fd, &junk, 1, Int32(MSG_NOSIGNAL)) < 0 { return classify(errno) }
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let ms = Int32(clamping: timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000)
        guard poll(&pfd, 1, ms) > 0 else { return .silent }
        var buffer = [UInt8](repeating: 0, count: 64)
        if recv(fd, &buffer, buffer.count, Int32(MSG_DONTWAIT)) < 0 { return classify(errno) }
        return .silent
    }

    static func classify(_ code: Int32) -> UDPPortOutcome {
        switch code {
        case ECONNREFUSED: .refused
        case EHOSTUNREACH, ENETUNREACH, EACCES, EPERM: .unreachable(String(cString: strerror(code)))
        case EAGAIN: .silent
        default: .failed(String(cString: strerror(code)))
        }
    }

    private static func fill(_ storage: inout sockaddr_storage, _ endpoint: Endpoint) -> socklen_t {
        withUnsafeMutableBytes(of: &storage) { raw in
            let bytes = endpoint.address.bytes
            switch endpoint.address {
            case .v4:
                var a = sockaddr_in()
                a.sin_family = sa_family_t(AF_INET)
                a.sin_port = endpoint.port.bigEndian
                withUnsafeMutableBytes(of: &a.sin_addr) { $0.copyBytes(from: bytes) }
                raw.storeBytes(of: a, as: sockaddr_in.self)
                return socklen_t(MemoryLayout<sockaddr_in>.size)
            case .v6:
                var a = sockaddr_in6()
                a.sin6_family = sa_family_t(AF_INET6)
                a.sin6_port = endpoint.port.bigEndian
                withUnsafeMutableBytes(of: &a.sin6_addr) { $0.copyBytes(from: bytes) }
                raw.storeBytes(of: a, as: sockaddr_in6.self)
                return socklen_t(MemoryLayout<sockaddr_in6>.size)
            }
        }
    }
}

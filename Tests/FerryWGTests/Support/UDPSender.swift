import FerryTestSupport
import Foundation

/// A plain UDP socket opened inside a namespace, for sending raw datagrams at a daemon's
/// listen port.
final class UDPSender: @unchecked Sendable {
    private let fd: Int32
    private var address: sockaddr_storage
    private let length: socklen_t

    /// A socket in `ns` aimed at `host` (IPv4 or IPv6 literal) and `port`.
    init(in ns: NetworkNamespace, to host: String, port: UInt16) throws {
        let v6 = host.contains(":")
        let fd = try ns.withEntered { socket(v6 ? AF_INET6 : AF_INET, Int32(SOCK_DGRAM.rawValue), 0) }
        guard fd >= 0 else { throw CommandFailure(command: ["socket"], status: errno, output: String(cString: strerror(errno))) }
        self.fd = fd
        var address = sockaddr_storage()
        if v6 {
            var a = sockaddr_in6()
            a.sin6_family = sa_family_t(AF_INET6)
            a.sin6_port = port.bigEndian
            inet_pton(AF_INET6, host, &a.sin6_addr)
            withUnsafeBytes(of: a) { raw in withUnsafeMutableBytes(of: &address) { $0.copyMemory(from: raw) } }
            length = socklen_t(MemoryLayout<sockaddr_in6>.size)
        } else {
            var a = sockaddr_in()
            a.sin_family = sa_family_t(AF_INET)
            a.sin_port = port.bigEndian
            inet_pton(AF_INET, host, &a.sin_addr)
            withUnsafeBytes(of: a) { raw in withUnsafeMutableBytes(of: &address) { $0.copyMemory(from: raw) } }
            length = socklen_t(MemoryLayout<sockaddr_in>.size)
        }
        self.address = address
    }

    /// Sends one datagram; false when the kernel refused it (a full buffer, say).
    @discardableResult
    func send(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { b in
            withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(fd, b.baseAddress, b.count, 0, $0, length) }
            }
        } == bytes.count
    }

    deinit { close(fd) }
}

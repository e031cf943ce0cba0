import FerryTestSupport
import Foundation

/// A plain UDP socket opened inside a namespace, for sending raw datagrams at a daemon's
/// listen port.
final class UDPSender: @unchecked Sendable {
    private let fd: Int32
    private let address: [UInt8]

    /// A socket in `ns` aimed at `host` (IPv4 or IPv6 literal) and `port`.
    init(in ns: NetworkNamespace, to host: String, port: UInt16) throws {
        var hints = addrinfo()
        hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV
        hints.ai_socktype = Int32(SOCK_DGRAM.rawValue)
        var found: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, "\(port)", &hints, &found) == 0, let info = found else {
            throw CommandFailure(command: ["getaddrinfo", host], status: -1, output: "not an address")
        }
        defer { freeaddrinfo(found) }
        address = Array(UnsafeRawBufferPointer(start: info.pointee.ai_addr, count: Int(info.pointee.ai_addrlen)))
        let family = info.pointee.ai_family
        let fd = try ns.withEntered { socket(family, Int32(SOCK_DGRAM.rawValue), 0) }
        guard fd >= 0 else { throw CommandFailure(command: ["socket"], status: errno, output: String(cString: strerror(errno))) }
        self.fd = fd
    }

    /// Sends one datagram; false when the kernel refused it (a full buffer, say).
    @discardableResult
    func send(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { b in
            address.withUnsafeBytes {
                sendto(fd, b.baseAddress, b.count, 0, $0.baseAddress?.assumingMemoryBound(to: sockaddr.self), socklen_t($0.count))
            }
        } == bytes.count
    }

    deinit { close(fd) }
}

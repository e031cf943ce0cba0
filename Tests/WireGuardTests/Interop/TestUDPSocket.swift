import Foundation
import WireGuard

/// A plain blocking IPv4 UDP socket for driving the core against a real peer in tests.
final class TestUDPSocket: @unchecked Sendable {
    let fd: Int32
    let port: UInt16

    init(address: IPv4Address = IPv4Address(127, 0, 0, 1), port: UInt16 = 0) throws {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        self.fd = fd
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        addr.sin_addr.s_addr = address.value.bigEndian
        let r = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard r == 0 else {
            close(fd)
            throw POSIXError(.init(rawValue: errno) ?? .EIO)
        }
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        self.port = UInt16(bigEndian: addr.sin_port)
        var tv = timeval(tv_sec: 0, tv_usec: 100_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    func send(_ bytes: UnsafeRawBufferPointer, to endpoint: Endpoint) {
        guard case .v4(let a) = endpoint.address else { return }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = endpoint.port.bigEndian
        addr.sin_addr.s_addr = a.value.bigEndian
        _ = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                sendto(fd, bytes.baseAddress, bytes.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
    }

    /// Receives one datagram into `buffer`; nil after the 100 ms timeout.
    func receive(into buffer: UnsafeMutableRawBufferPointer) -> (Int, Endpoint)? {
        var addr = sockaddr_in()
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let n = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(fd, buffer.baseAddress, buffer.count, 0, $0, &len) }
        }
        guard n >= 0 else { return nil }
        let ep = Endpoint(address: .v4(IPv4Address(UInt32(bigEndian: addr.sin_addr.s_addr))), port: UInt16(bigEndian: addr.sin_port))
        return (n, ep)
    }

    deinit { close(fd) }
}

/// ICMP echo packets with correct IPv4 and ICMP checksums (the kernel checks the IP one).
enum ICMPEcho {
    static func checksum(_ bytes: ArraySlice<UInt8>) -> UInt16 {
        var sum: UInt32 = 0
        var i = bytes.startIndex
        while i + 1 < bytes.endIndex { sum += UInt32(bytes[i]) << 8 | UInt32(bytes[i + 1]); i += 2 }
        if i < bytes.endIndex { sum += UInt32(bytes[i]) << 8 }
        while sum >> 16 != 0 { sum = (sum & 0xffff) + (sum >> 16) }
        return ~UInt16(sum)
    }

    static func packet(type: UInt8, from src: IPv4Address, to dst: IPv4Address, id: UInt16, sequence: UInt16, payload: [UInt8]) -> [UInt8] {
        var icmp: [UInt8] = [type, 0, 0, 0, UInt8(id >> 8), UInt8(id & 0xff), UInt8(sequence >> 8), UInt8(sequence & 0xff)] + payload
        let c = checksum(icmp[...])
        icmp[2] = UInt8(c >> 8); icmp[3] = UInt8(c & 0xff)
        let total = 20 + icmp.count
        var ip: [UInt8] = [0x45, 0, UInt8(total >> 8), UInt8(total & 0xff), 0, 0, 0x40, 0, 64, 1, 0, 0] + src.bytes + dst.bytes
        let h = checksum(ip[...])
        ip[10] = UInt8(h >> 8); ip[11] = UInt8(h & 0xff)
        return ip + icmp
    }

    /// (type, id, sequence, source, destination, payload) of an IPv4 ICMP packet.
    static func parse(_ p: [UInt8]) -> (type: UInt8, id: UInt16, sequence: UInt16, src: IPv4Address, dst: IPv4Address, payload: [UInt8])? {
        guard p.count >= 28, p[0] >> 4 == 4, p[9] == 1 else { return nil }
        let ihl = Int(p[0] & 0xf) * 4
        guard p.count >= ihl + 8 else { return nil }
        let src = IPv4Address(p[12], p[13], p[14], p[15]), dst = IPv4Address(p[16], p[17], p[18], p[19])
        return (p[ihl], UInt16(p[ihl + 4]) << 8 | UInt16(p[ihl + 5]), UInt16(p[ihl + 6]) << 8 | UInt16(p[ihl + 7]),
                src, dst, Array(p[(ihl + 8)...]))
    }
}

/// The core's clock for real-time tests: CLOCK_MONOTONIC, plus the wall-clock offset.
enum RealClock {
    static func now() -> Instant {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Instant(nanoseconds: Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec))
    }

    static func wallClockOffset() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec) - now().nanoseconds
    }
}

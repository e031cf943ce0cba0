import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Plain TCP sockets for tests (and ferryd-bench) that need thousands of connections at once (idle floods,
/// half-sent requests, a thousand long polls): one file descriptor each, no client library
/// pooling or limiting them.
public enum RawHTTP {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
        public init(description: String) { self.description = description }
    }

    /// A port below the kernel's ephemeral range (32768 up) that nothing listens on now:
    /// thousands of client sockets of these tests, closing, hold ephemeral ports for a while.
    public static func freePort() -> Int {
        for _ in 0..<100 {
            let port = Int.random(in: 20000...32000)
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            defer { Glibc.close(fd) }
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            addr.sin_port = in_port_t(UInt16(truncatingIfNeeded: port).bigEndian)
            addr.sin_addr.s_addr = inet_addr("127.0.0.1")
            let rc = withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            if rc == 0 { return port }
        }
        return Int.random(in: 20000...32000)
    }

    /// A blocking TCP connection to 127.0.0.1:port.
    public static func connect(port: Int) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket: errno \(errno)") }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(truncatingIfNeeded: port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else {
            let e = errno
            Glibc.close(fd)
            throw Failure(description: "connect: errno \(e)")
        }
        return fd
    }

    public static func send(_ fd: Int32, _ text: String) throws {
        let bytes = Array(text.utf8)
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw Failure(description: "send: errno \(errno)") }
            sent += n
        }
    }

    public static func request(_ method: String, _ path: String, token: String? = nil, body: String? = nil, close: Bool = false) -> String {
        var s = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        if let token { s += "Authorization: Bearer \(token)\r\n" }
        if let body { s += "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n" }
        if close { s += "Connection: close\r\n" }
        return s + "\r\n" + (body ?? "")
    }

    /// Waits until every socket in `fds` is readable (an answer, or the server closed it),
    /// or until `timeout`; returns when each first became readable.
    public static func whenReadable(_ fds: [Int32], timeout: Duration) -> [Int32: ContinuousClock.Instant] {
        var seen: [Int32: ContinuousClock.Instant] = [:]
        let deadline = ContinuousClock.now + timeout
        while seen.count < fds.count, ContinuousClock.now < deadline {
            var set = fds.filter { seen[$0] == nil }.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            let rc = poll(&set, nfds_t(set.count), 50)
            guard rc > 0 else { continue }
            let now = ContinuousClock.now
            for p in set where p.revents != 0 { seen[p.fd] = now }
        }
        return seen
    }

    /// Reads what is there (up to 64 KiB, waiting at most `timeout` for the first byte).
    public static func read(_ fd: Int32, timeout: Duration = .seconds(5)) -> String {
        guard !whenReadable([fd], timeout: timeout).isEmpty else { return "" }
        var buffer = [UInt8](repeating: 0, count: 65536)
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        return n > 0 ? String(decoding: buffer[0..<n], as: UTF8.self) : ""
    }

    /// The status code of an HTTP response's first line, if there is one.
    public static func status(_ response: String) -> Int? {
        let parts = response.prefix(while: { $0 != "\r" }).split(separator: " ")
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1.") else { return nil }
        return Int(parts[1])
    }

    /// One request on a new connection; the status and the time to the first byte.
    public static func timed(port: Int, _ method: String, _ path: String) throws -> (Int?, Duration) {
        let start = ContinuousClock.now
        let fd = try connect(port: port)
        defer { Glibc.close(fd) }
        try send(fd, request(method, path, close: true))
        let answer = read(fd, timeout: .seconds(5))
        return (status(answer), ContinuousClock.now - start)
    }

    /// Server-side TCP sockets on `port` in CLOSE-WAIT (the client closed, the server has
    /// not), from /proc/net/tcp of this network namespace.
    public static func closeWaitCount(port: Int) -> Int {
        guard let text = try? String(contentsOfFile: "/proc/net/tcp", encoding: .utf8) else { return -1 }
        let hexPort = String(format: ":%04X", port)
        return text.split(separator: "\n").dropFirst().filter { line in
            let f = line.split(separator: " ")
            return f.count > 3 && f[1].hasSuffix(hexPort) && f[3] == "08"
        }.count
    }

    /// File descriptors a process has open.
    public static func openFiles(pid: Int32) -> Int {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count) ?? -1
    }

    public static func close(_ fds: [Int32]) {
        for fd in fds { Glibc.close(fd) }
    }
}

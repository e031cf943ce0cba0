import Foundation

/// A UAPI client on a unix socket (/var/run/wireguard/IFNAME.sock or a test's own), writing
/// raw text and reading raw answers, with time-outs so a broken server fails the test.
public final class UAPIClient {
    public let fd: Int32
    private var received: [UInt8] = []

    public init(path: String) throws {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw CommandFailure(command: ["socket"], status: errno, output: String(cString: strerror(errno))) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        let fits = bytes.count < MemoryLayout.size(ofValue: address.sun_path)
        if fits {
            withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
        }
        let r = fits ? withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        } : -1
        guard r == 0 else {
            let error = fits ? errno : ENAMETOOLONG
            close(fd)
            throw CommandFailure(command: ["connect", path], status: error, output: String(cString: strerror(error)))
        }
        self.fd = fd
    }

    deinit { close(fd) }

    public func send(_ text: String) {
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { return }
            offset += n
        }
    }

    /// The next complete answer (up to and including its empty line), or nil when the
    /// server closed the connection first (or nothing came within the time-out).
    public func answer(timeout: Double = 5) -> String? {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            if let end = UAPIClient.endOfAnswer(received) {
                defer { received.removeFirst(end) }
                return String(decoding: received[0..<end], as: UTF8.self)
            }
            guard wait(until: deadline) else { return nil }
            var chunk = [UInt8](repeating: 0, count: 65536)
            let n = recv(fd, &chunk, chunk.count, 0)
            guard n > 0 else { return nil }
            received += chunk[0..<n]
        }
    }

    /// Sends a request and returns its answer.
    public func request(_ text: String, timeout: Double = 5) -> String? {
        send(text)
        return answer(timeout: timeout)
    }

    /// True when the server closed the connection within the time-out: EOF, or a reset
    /// when it closed with bytes of ours still unread.
    public func isClosedByServer(timeout: Double = 5) -> Bool {
        guard wait(until: Date().addingTimeInterval(timeout)) else { return false }
        var byte: UInt8 = 0
        let n = recv(fd, &byte, 1, 0)
        return n == 0 || (n < 0 && errno == ECONNRESET)
    }

    private func wait(until deadline: Date) -> Bool {
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let milliseconds = max(0, Int32(deadline.timeIntervalSinceNow * 1000))
        return poll(&p, 1, milliseconds) > 0
    }

    /// Every answer ends at its first empty line: the index past it.
    static func endOfAnswer(_ bytes: [UInt8]) -> Int? {
        var lineStart = 0
        for (i, byte) in bytes.enumerated() where byte == UInt8(ascii: "\n") {
            if i == lineStart { return i + 1 }
            lineStart = i + 1
        }
        return nil
    }
}

import CFerryLinux
import FerryTestSupport
import Foundation
import Glibc
import Synchronization
import Testing
import WireGuard
@testable import WireGuardLinux

/// A temporary directory for sockets, removed at the end.
final class TemporaryDirectory {
    let path: String

    init() throws {
        var template = Array("/tmp/ferry-uapi-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw SystemError("mkdtemp", errno: errno) }
        path = String(cString: made)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// A stand-in for the device: a listen port that `set` changes and `get` reports.
final class PortDevice: @unchecked Sendable {
    private let state = Mutex<(port: UInt16, requests: Int)>((0, 0))

    var requests: Int { state.withLock { $0.requests } }

    func handle(_ request: UAPIRequest) -> String {
        state.withLock { s in
            s.requests += 1
            switch request {
            case .get:
                return UAPI.render(UAPIDeviceStatus(listenPort: s.port))
            case .set(let set):
                for case .listenPort(let p) in set.device { s.port = p }
                return UAPI.response(nil)
            }
        }
    }
}

@Suite struct UAPIServerTests {
    func startServer(in directory: TemporaryDirectory, interface: String = "wgtest", limit: Int = UAPIFramer.defaultLimit,
                     device: PortDevice = PortDevice(), onRemoved: (@Sendable () -> Void)? = nil) throws -> UAPIServer {
        let listener = try UAPIListener.open(interface: interface, directory: directory.path)
        let server = try UAPIServer(listener: listener, requestLimit: limit, onSocketRemoved: onRemoved) { device.handle($0) }
        try server.start()
        return server
    }

    @Test func answersSeveralRequestsOnOneConnection() throws {
        let dir = try TemporaryDirectory()
        let device = PortDevice()
        let server = try startServer(in: dir, device: device)
        defer { server.stop() }
        let client = try UAPIClient(path: server.listener.path)
        // Three requests in one write, then one more after the answers.
        client.send("get=1\n\nset=1\nlisten_port=51820\n\nget=1\n\n")
        #expect(client.answer() == "errno=0\n\n")
        #expect(client.answer() == "errno=0\n\n")
        #expect(client.answer() == "listen_port=51820\nerrno=0\n\n")
        // A bad request is answered with its errno and the connection stays usable.
        client.send("set=1\nbogus_key=1\n\n")
        #expect(client.answer() == "errno=-22\n\n")
        client.send("set=1\nlisten_port=1\n")
        client.send("\n")  // the empty line in a separate segment
        #expect(client.answer() == "errno=0\n\n")
        #expect(device.requests == 4)
        // An unknown operation ends the connection without an answer, as in wireguard-go.
        client.send("hello=1\n\n")
        #expect(client.isClosedByServer())
    }

    @Test func anOversizedRequestIsRefusedAndTheConnectionClosed() throws {
        let dir = try TemporaryDirectory()
        let device = PortDevice()
        let server = try startServer(in: dir, limit: 4096, device: device)
        defer { server.stop() }
        let client = try UAPIClient(path: server.listener.path)
        client.send("set=1\n" + String(repeating: "listen_port=1\n", count: 1000))
        #expect(client.answer() == "errno=-5\n\n")
        #expect(client.isClosedByServer())
        #expect(device.requests == 0)
        // Other connections are not affected.
        let other = try UAPIClient(path: server.listener.path)
        other.send("get=1\n\n")
        #expect(other.answer() == "errno=0\n\n")
    }

    @Test func socketFileAndDirectoryHaveWireguardGosModes() throws {
        let dir = try TemporaryDirectory()
        let nested = dir.path + "/run/wireguard"
        let listener = try UAPIListener.open(interface: "wgmode", directory: nested)
        defer { listener.close() }
        var st = stat()
        #expect(lstat(listener.path, &st) == 0)
        #expect(st.st_mode & S_IFMT == S_IFSOCK)
        #expect(st.st_mode & 0o777 == 0o700)
        #expect(stat(nested, &st) == 0)
        #expect(st.st_mode & 0o777 == 0o755 & ~currentUmask())
        #expect(listener.path == nested + "/wgmode.sock")
        listener.close()
        #expect(access(nested + "/wgmode.sock", F_OK) != 0)  // removed on close
    }

    @Test func aLiveSocketIsRefusedAndAStaleOneReplaced() throws {
        let dir = try TemporaryDirectory()
        let server = try startServer(in: dir, interface: "wglive")
        #expect(throws: UAPIListenerError.socketInUse(server.listener.path)) {
            try UAPIListener.open(interface: "wglive", directory: dir.path)
        }
        // A daemon that died leaves its socket file behind: nobody accepts on it.
        let stalePath = UAPIListener.socketPath(interface: "wgstale", directory: dir.path)
        let dead = ferry_unix_listen(stalePath, 0o700, 1)
        #expect(dead >= 0)
        close(dead)
        #expect(access(stalePath, F_OK) == 0)
        let replacement = try UAPIListener.open(interface: "wgstale", directory: dir.path)
        #expect(throws: Never.self) { try UAPIClient(path: stalePath) }  // the new one listens
        replacement.close()
        // A file that is not a socket is left alone.
        let filePath = UAPIListener.socketPath(interface: "wgfile", directory: dir.path)
        #expect(FileManager.default.createFile(atPath: filePath, contents: Data("x".utf8)))
        #expect(throws: UAPIListenerError.notASocket(filePath)) { try UAPIListener.open(interface: "wgfile", directory: dir.path) }
        server.stop()
        #expect(access(server.listener.path, F_OK) != 0)
    }

    @Test func stopEndsIdleConnectionsPromptly() throws {
        let dir = try TemporaryDirectory()
        let server = try startServer(in: dir)
        let clients = try (0..<3).map { _ in try UAPIClient(path: server.listener.path) }
        clients[0].send("get=1\n\n")
        #expect(clients[0].answer() == "errno=0\n\n")
        clients[1].send("set=1\nlisten_port=")  // half a request
        let deadline = MonotonicTime.after(seconds: 5)
        while server.connectionCount < 3, MonotonicTime.now() < deadline { usleep(1000) }
        #expect(server.connectionCount == 3)
        let start = MonotonicTime.now()
        server.stop()
        #expect(MonotonicTime.now().nanoseconds - start.nanoseconds < 2_000_000_000)
        #expect(server.connectionCount == 0)
        for client in clients { #expect(client.isClosedByServer()) }
    }

    @Test func removingTheSocketFileIsReported() throws {
        let dir = try TemporaryDirectory()
        let removed = BlockingQueue<Bool>()
        let server = try startServer(in: dir, interface: "wgrm") { removed.push(true) }
        defer { server.stop() }
        #expect(removed.pop(until: .after(seconds: 0.05)) == nil)
        #expect(unlink(server.listener.path) == 0)
        #expect(removed.pop(until: .after(seconds: 5)) == true)
    }
}

/// The process umask, read without setting it (umask(2) would race with other tests).
func currentUmask() -> mode_t {
    let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
    let line = status.split(separator: "\n").first { $0.hasPrefix("Umask:") } ?? "Umask: 0022"
    return mode_t(line.split(separator: "\t").last.flatMap { UInt32($0.trimmingCharacters(in: .whitespaces), radix: 8) } ?? 0o022)
}

import FerrySystem
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One real PostgreSQL server per test process: `initdb` into a temporary folder, `postgres`
/// on a free loopback port with fsync off, stopped and removed when the process ends.
/// PostgreSQL refuses to run as root, so as root the server runs as the unprivileged user
/// `ferrytest` (created when missing); the folder is that user's. Clients connect over TCP
/// as `ferry` with a password (SCRAM), as ferryd would in production.
///
/// `PostgresServer.shared` starts it on first use and throws with the server's log when it
/// cannot: the PostgreSQL tests must run in CI, so they fail rather than skip.
public final class PostgresServer: Sendable {
    public let port: Int
    public let user = "ferry"
    public let password: String
    public let folder: String
    let bin: String
    let osUser: String?
    let pid: Int32

    public static let shared: Result<PostgresServer, any Error> = Result { try PostgresServer() }

    /// The server, or a failure naming what is missing.
    public static func start() throws -> PostgresServer { try shared.get() }

    /// `postgres://ferry:…@127.0.0.1:PORT/NAME`.
    public func url(database: String) -> String {
        "postgres://\(user):\(password)@127.0.0.1:\(port)/\(database)?sslmode=disable"
    }

    static func binFolder() throws -> String {
        let root = "/usr/lib/postgresql"
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).compactMap(Int.init).sorted()
        guard let v = versions.last else {
            throw CommandFailure(command: ["initdb"], status: 127, output: "PostgreSQL is not installed (apt-get install postgresql; scripts/install-test-deps.sh)")
        }
        return "\(root)/\(v)/bin"
    }

    /// Runs `command` as the server's user (root hands it to `ferrytest`); setpriv execs,
    /// so a pid is the command's own.
    func asServerUser(_ command: [String]) -> [String] { Self.asUser(osUser, command) }

    static func asUser(_ osUser: String?, _ command: [String]) -> [String] {
        osUser.map { ["setpriv", "--reuid=\($0)", "--regid=\($0)", "--clear-groups", "--"] + command } ?? command
    }

    /// A server of its own (the shared one is `shared`); with `tls`, PEM certificate
    /// (chain) and key, it runs with ssl=on and that certificate. `stop()` it when done.
    public init(tls: (certificatePEM: String, keyPEM: String)? = nil) throws {
        bin = try Self.binFolder()
        osUser = getuid() == 0 ? "ferrytest" : nil
        if let osUser, (try? run(["id", "-u", osUser])) == nil {
            try run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", osUser])
        }
        folder = NSTemporaryDirectory() + "ferry-pg-\(getpid())-\(UUID().uuidString.prefix(6))"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        password = UUID().uuidString
        try password.write(toFile: folder + "/pw", atomically: true, encoding: .utf8)
        if let osUser { try run(["chown", "-R", osUser, folder]) }
        try run(Self.asUser(osUser, ["\(bin)/initdb", "-D", folder + "/data", "-U", user, "--pwfile=\(folder)/pw", "-E", "UTF8",
                              "--auth-local=trust", "--auth-host=scram-sha-256", "--no-sync", "--no-instructions"]))
        var settings: [String] = []
        if let tls {
            let cert = folder + "/server.crt", key = folder + "/server.key"
            try tls.certificatePEM.write(toFile: cert, atomically: true, encoding: .utf8)
            try tls.keyPEM.write(toFile: key, atomically: true, encoding: .utf8)
            // PostgreSQL refuses a key that others may read.
            try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: key)
            if let osUser { try run(["chown", osUser, cert, key]) }
            settings = ["-c", "ssl=on", "-c", "ssl_cert_file=\(cert)", "-c", "ssl_key_file=\(key)"]
        }
        port = RawHTTP.freePort()
        let server = Self.asUser(osUser, ["\(bin)/postgres", "-D", folder + "/data", "-k", folder, "-p", "\(port)",
                                           "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=off",
                                           "-c", "full_page_writes=off", "-c", "max_connections=400", "-c", "shared_buffers=64MB",
                                           "-c", "idle_session_timeout=60s"] + settings)
        // A watchdog shell owns the server: when this test process ends in any way (exit,
        // crash, SIGKILL), it stops PostgreSQL (fast shutdown) and removes the folder.
        let watchdog = """
            "$@" & pg=$!
            while kill -0 \(getpid()) 2>/dev/null && kill -0 $pg 2>/dev/null; do sleep 0.5; done
            kill -INT $pg 2>/dev/null; wait $pg; rm -rf '\(folder)'
            """
        let args = ["sh", "-c", watchdog, "pg-watchdog"] + server
        let log = folder + "/postgres.log"
        let p = ChildProcess()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = args
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        if let osUser { _ = try? run(["chown", osUser, log]) }
        p.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        p.standardError = p.standardOutput
        try p.run()
        pid = p.processIdentifier
        let deadline = Date().addingTimeInterval(30)
        while (try? run(["\(bin)/pg_isready", "-q", "-h", "127.0.0.1", "-p", "\(port)"])) == nil {
            guard p.isRunning, Date() < deadline else {
                let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
                p.terminate()
                throw CommandFailure(command: args, status: p.isRunning ? -1 : p.terminationStatus, output: "PostgreSQL did not start: \(text)")
            }
            usleep(50_000)
        }
    }

    /// Stops the server (fast shutdown); its watchdog then removes the folder.
    public func stop() throws {
        try run(asServerUser(["\(bin)/pg_ctl", "-D", folder + "/data", "-m", "fast", "-w", "stop"]))
    }

    /// Runs SQL as the superuser over the server's Unix socket (no password needed there).
    @discardableResult
    public func psql(_ sql: String, database: String = "postgres") throws -> String {
        try run(asServerUser(["\(bin)/psql", "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-h", folder, "-p", "\(port)",
                              "-U", user, "-d", database, "-c", sql]))
    }

    /// Everything a database holds, as SQL text (pg_dump).
    public func dump(database: String) throws -> String {
        try run(asServerUser(["\(bin)/pg_dump", "-h", folder, "-p", "\(port)", "-U", user, database]))
    }
}

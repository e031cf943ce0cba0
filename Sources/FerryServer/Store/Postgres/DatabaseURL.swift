import Foundation
import NIOSSL
import PostgresNIO

/// `postgres://USER[:PASSWORD]@HOST[:PORT]/DB[?sslmode=MODE&sslrootcert=FILE]` (also
/// `postgresql://`), as libpq reads it. `?host=/run/postgresql` connects over that Unix
/// socket folder instead. sslmode: `disable`; `prefer` (the default, as in libpq: TLS when
/// the server offers it, unverified); `require` (TLS, unverified unless `sslrootcert` is
/// given); `verify-ca` (TLS, the chain checked against `sslrootcert` or the system roots);
/// `verify-full` (also the host name).
public struct DatabaseURL: Sendable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var socketPath: String?
    public var user: String
    public var password: String?
    public var database: String
    public var sslMode: String
    public var rootCertificate: String?

    public enum ParseError: Error, CustomStringConvertible {
        case invalid(String)
        public var description: String {
            switch self { case .invalid(let why): "invalid database URL: \(why)" }
        }
    }

    static let sslModes = ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"]

    public init(_ text: String) throws {
        guard let c = URLComponents(string: text), let scheme = c.scheme else { throw ParseError.invalid("not a URL") }
        guard scheme == "postgres" || scheme == "postgresql" else {
            throw ParseError.invalid("the scheme must be postgres:// or postgresql://, not \(scheme)://")
        }
        guard let user = c.user, !user.isEmpty else { throw ParseError.invalid("give a user: postgres://USER@HOST/DB") }
        let db = String(c.path.drop(while: { $0 == "/" }))
        guard !db.isEmpty else { throw ParseError.invalid("give a database name: postgres://USER@HOST/DB") }
        self.user = user.removingPercentEncoding ?? user
        self.password = c.password.map { $0.removingPercentEncoding ?? $0 }
        self.database = db.removingPercentEncoding ?? db
        self.host = c.host ?? "localhost"
        guard (1...65535).contains(c.port ?? 5432) else { throw ParseError.invalid("port out of range") }
        self.port = c.port ?? 5432
        var mode = "prefer"
        for item in c.queryItems ?? [] {
            switch item.name {
            case "sslmode":
                guard let v = item.value, Self.sslModes.contains(v) else {
                    throw ParseError.invalid("sslmode must be one of \(Self.sslModes.joined(separator: ", "))")
                }
                mode = v
            case "sslrootcert": rootCertificate = item.value
            case "host":
                guard let v = item.value, v.hasPrefix("/") else { throw ParseError.invalid("?host= takes a socket folder") }
                socketPath = v + "/.s.PGSQL.\(port)"
            case "application_name", "connect_timeout": break
            default: throw ParseError.invalid("unknown parameter \(item.name)")
            }
        }
        sslMode = mode
    }

    /// The URL without its password, for logs.
    public var description: String {
        "postgres://\(user)@\(socketPath ?? "\(host):\(port)")/\(database)?sslmode=\(sslMode)"
    }

    /// postgres-nio's connection settings, TLS mapped onto NIOSSL.
    func configuration() throws -> PostgresConnection.Configuration {
        if let socketPath {
            return PostgresConnection.Configuration(unixSocketPath: socketPath, username: user, password: password, database: database)
        }
        try checkRootCertificate()
        var tls = TLSConfiguration.makeClientConfiguration()
        if let rootCertificate { tls.trustRoots = .file(rootCertificate) }
        let mode: PostgresConnection.Configuration.TLS
        switch sslMode {
        case "disable": mode = .disable
        case "allow", "prefer":
            tls.certificateVerification = .none
            mode = .prefer(try NIOSSLContext(configuration: tls))
        case "require":
            // libpq: with a root certificate, `require` behaves like verify-ca.
            tls.certificateVerification = rootCertificate == nil ? .none : .noHostnameVerification
            mode = .require(try NIOSSLContext(configuration: tls))
        case "verify-ca":
            tls.certificateVerification = .noHostnameVerification
            mode = .require(try NIOSSLContext(configuration: tls))
        default:
            tls.certificateVerification = .fullVerification
            mode = .require(try NIOSSLContext(configuration: tls))
        }
        // The host name is checked and sent as SNI unless it is an IP address (postgres-nio).
        return PostgresConnection.Configuration(host: host, port: port, username: user, password: password, database: database, tls: mode)
    }
}

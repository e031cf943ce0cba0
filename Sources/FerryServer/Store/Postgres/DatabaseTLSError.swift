import Foundation
import NIOSSL
import PostgresNIO

/// A connection to PostgreSQL that TLS refused, in words an operator can act on: which
/// server, which sslmode, and whether the chain (root certificate) or the host name failed.
public struct DatabaseTLSError: Error, CustomStringConvertible {
    public let server: String
    public let sslMode: String
    public let reason: String
    public var description: String { "TLS to the database at \(server) failed (sslmode=\(sslMode)): \(reason)" }
}

extension DatabaseURL {
    /// The TLS failure behind a failed connection, or nil when it was something else.
    func tlsFailure(_ error: PSQLError) -> DatabaseTLSError? {
        let server = socketPath ?? "\(host):\(port)"
        let roots = rootCertificate.map { "the root certificate \($0)" } ?? "the system's root certificates"
        func failure(_ reason: String) -> DatabaseTLSError { DatabaseTLSError(server: server, sslMode: sslMode, reason: reason) }
        if error.code == .sslUnsupported {
            return failure("the server does not offer TLS (enable ssl in postgresql.conf, or lower sslmode)")
        }
        switch error.underlying {
        case let e as NIOSSLExtraError where e == .failedToValidateHostname:
            return failure("the server's certificate is not for the host name \(host) (\(e)); "
                           + "connect by a name the certificate holds, or use sslmode=verify-ca to check the chain only")
        case let e as NIOSSLError:
            if case .handshakeFailed = e {
                return failure("the server's certificate could not be verified with \(roots) (\(e))")
            }
            return failure("\(e)")
        default:
            return nil
        }
    }

    /// `sslrootcert` names a file that can be read (checked before connecting, so a typo
    /// is not reported as a certificate the server got wrong).
    func checkRootCertificate() throws {
        guard let path = rootCertificate, sslMode != "disable", socketPath == nil else { return }
        guard FileManager.default.isReadableFile(atPath: path) else {
            throw ParseError.invalid("sslrootcert \(path) does not exist or cannot be read")
        }
    }
}

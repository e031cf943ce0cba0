import Crypto
import Foundation
import WireGuard
import NIOCore
import NIOPosix
import NIOSSL

/// Trust on first use, made explicit: `ferry join --fingerprint` fetches the coordinator's
/// certificate, accepts it only if its SHA-256 fingerprint is the one ferryd printed, and
/// stores it; from then on the client trusts exactly that certificate.
public enum CertificatePin {
    /// `AA:BB:...` (what ferryd and `openssl x509 -fingerprint -sha256` print) from any of
    /// `AA:BB:..`, `aabb..`, `SHA256:AA:BB..`, `sha256 Fingerprint=AA:..`; nil if not 32 bytes.
    public static func normalize(_ text: String) -> String? {
        var t = text.trimmingCharacters(in: .whitespaces)
        if let eq = t.lastIndex(of: "=") { t = String(t[t.index(after: eq)...]) }
        if t.lowercased().hasPrefix("sha256:") { t = String(t.dropFirst(7)) }
        let hex = t.filter { $0 != ":" }.uppercased()
        guard hex.count == 64, hex.allSatisfy({ $0.isHexDigit }) else { return nil }
        var pairs: [String] = []
        var i = hex.startIndex
        while i < hex.endIndex {
            let j = hex.index(i, offsetBy: 2)
            pairs.append(String(hex[i..<j]))
            i = j
        }
        return pairs.joined(separator: ":")
    }

    public static func fingerprint(der: [UInt8]) -> String {
        SHA256.hash(data: der).map { String(format: "%02X", $0) }.joined(separator: ":")
    }

    /// Connects to the coordinator of `url`, takes its certificate and checks it against
    /// `fingerprint`; returns it as PEM. Nothing is sent but the TLS handshake.
    public static func fetch(url: String, fingerprint: String, timeoutSeconds: Int64 = 10) async throws(FerryError) -> String {
        guard let expected = normalize(fingerprint) else {
            throw .failure("'\(fingerprint)' is not a SHA-256 fingerprint (32 bytes in hex, as ferryd prints it: AA:BB:...)")
        }
        let der = try await peek(url: url, timeoutSeconds: timeoutSeconds)
        let actual = Self.fingerprint(der: der)
        guard actual == expected else {
            throw .init(.unreachable, "the certificate of \(url) has fingerprint \(actual), not the \(expected) you gave: check the fingerprint ferryd printed, or someone is in between")
        }
        return pem(der: der)
    }

    /// The certificate (DER) the coordinator of `url` presents, trusted or not: for the pin
    /// and for saying which fingerprint an untrusted coordinator has.
    public static func peek(url: String, timeoutSeconds: Int64 = 10) async throws(FerryError) -> [UInt8] {
        guard let u = URL(string: url), u.scheme == "https", let host = u.host else {
            throw .failure("a certificate can be pinned only for an https:// coordinator URL, not '\(url)'")
        }
        let port = u.port ?? 443
        let seen = Captured()
        var closed = false
        do {
            var tls = TLSConfiguration.makeClientConfiguration()
            // The callback below decides; it runs only with verification on.
            tls.certificateVerification = .noHostnameVerification
            let context = try NIOSSLContext(configuration: tls)
            let serverName = IPAddressText.isLiteral(host) ? nil : host
            let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(.seconds(timeoutSeconds))
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let handler = try NIOSSLClientHandler(context: context, serverHostname: serverName) { chain, promise in
                            seen.set(chain.first.flatMap { try? $0.toDERBytes() })
                            promise.succeed(.certificateVerified)
                        }
                        try channel.pipeline.syncOperations.addHandler(handler)
                    }
                }
                .connect(host: host, port: port).get()
            let deadline = Date().addingTimeInterval(Double(timeoutSeconds))
            while seen.get() == nil, Date() < deadline, channel.isActive {
                try await Task.sleep(for: .milliseconds(20))
            }
            closed = !channel.isActive
            try? await channel.close().get()
        } catch {
            throw CoordinatorClient.transportError(error, url: url)
        }
        guard let der = seen.get() else {
            if closed { throw .init(.unreachable, "\(url) closed the connection without sending a certificate; is it ferryd with --tls?") }
            throw .init(.unreachable, "\(url) accepted the connection but sent no certificate within \(timeoutSeconds)s (timed out); check that ferryd runs and answers there")
        }
        return der
    }

    static func pem(der: [UInt8]) -> String {
        let b64 = Data(der).base64EncodedString()
        var lines: [Substring] = []
        var i = b64.startIndex
        while i < b64.endIndex {
            let j = b64.index(i, offsetBy: 64, limitedBy: b64.endIndex) ?? b64.endIndex
            lines.append(b64[i..<j])
            i = j
        }
        return "-----BEGIN CERTIFICATE-----\n" + lines.joined(separator: "\n") + "\n-----END CERTIFICATE-----\n"
    }

    private final class Captured: @unchecked Sendable {
        private let lock = NSLock()
        private var der: [UInt8]?
        func set(_ d: [UInt8]?) { lock.lock(); if der == nil { der = d }; lock.unlock() }
        func get() -> [UInt8]? { lock.lock(); defer { lock.unlock() }; return der }
    }
}

enum IPAddressText {
    /// Whether the URL's host is an address (no SNI for it), not a name; brackets allowed.
    static func isLiteral(_ host: String) -> Bool {
        IPAddress(host.hasPrefix("[") && host.hasSuffix("]") ? host.dropFirst().dropLast() : Substring(host)) != nil
    }
}

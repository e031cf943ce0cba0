import Crypto
import FerryCore
import FerrySystem
import Foundation
import HummingbirdTLS
import X509

/// HTTPS: a certificate and key from files, or (`--tls auto`) a self-signed certificate
/// made on first start and kept under the data folder, whose SHA-256 fingerprint clients
/// pin.
public enum TLSSetup {
    public struct Material: Sendable {
        public var certificatePath: String
        public var keyPath: String
        /// SHA-256 of the certificate's DER, as `AA:BB:...` (what `openssl x509 -fingerprint -sha256` prints).
        public var fingerprint: String
    }

    /// Makes (or reuses) `DIR/tls/cert.pem` and `DIR/tls/key.pem` (0600).
    public static func selfSigned(in directory: URL, hosts: [String]) async throws -> Material {
        let dir = directory.appendingPathComponent("tls")
        let certPath = dir.appendingPathComponent("cert.pem").path, keyPath = dir.appendingPathComponent("key.pem").path
        if !FileManager.default.fileExists(atPath: certPath) || !FileManager.default.fileExists(atPath: keyPath) {
            try AtomicWrite.makeDirectory(dir.path, mode: 0o700)
            let key = P256.Signing.PrivateKey()
            let certKey = Certificate.PrivateKey(key)
            let name = try DistinguishedName { CommonName("ferryd") }
            let now = Date()
            var sans: [GeneralName] = [.dnsName("localhost")]
            for h in hosts where h != "localhost" {
                if let ip = addressBytes(h) { sans.append(.ipAddress(.init(contentBytes: ip[...]))) } else if !h.isEmpty { sans.append(.dnsName(h)) }
            }
            let extensions = try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true))
                try ExtendedKeyUsage([.serverAuth])
                SubjectAlternativeNames(sans)
            }
            let cert = try Certificate(version: .v3, serialNumber: .init(), publicKey: certKey.publicKey,
                                       notValidBefore: now.addingTimeInterval(-3600), notValidAfter: now.addingTimeInterval(10 * 365 * 86400),
                                       issuer: name, subject: name, signatureAlgorithm: .ecdsaWithSHA256, extensions: extensions,
                                       issuerPrivateKey: certKey)
            // Both 0600 and never seen half-written: a crash cannot leave a certificate
            // whose key is missing or truncated.
            try AtomicWrite.write(Array(key.pemRepresentation.utf8), to: keyPath, mode: 0o600)
            try AtomicWrite.write(Array(try cert.serializeAsPEM().pemString.utf8), to: certPath, mode: 0o600)
        }
        return Material(certificatePath: certPath, keyPath: keyPath, fingerprint: try fingerprint(ofPEMFile: certPath))
    }

    public static func files(certificate: String, key: String) throws -> Material {
        Material(certificatePath: certificate, keyPath: key, fingerprint: try fingerprint(ofPEMFile: certificate))
    }

    public static func fingerprint(ofPEMFile path: String) throws -> String {
        let cert = try Certificate(pemEncoded: String(contentsOfFile: path, encoding: .utf8))
        let der = try cert.serializeAsPEM().derBytes
        return SHA256.hash(data: der).map { String(format: "%02X", $0) }.joined(separator: ":")
    }

    public static func configuration(_ m: Material) throws -> TLSConfiguration {
        let certs = try NIOSSLCertificate.fromPEMFile(m.certificatePath)
        let key = try NIOSSLPrivateKey(file: m.keyPath, format: .pem)
        return TLSConfiguration.makeServerConfiguration(certificateChain: certs.map { .certificate($0) }, privateKey: .privateKey(key))
    }

    /// The names the `--tls auto` certificate is made for: loopback, the listen address
    /// (for a wildcard listener, every address of this host and its host name, since that
    /// is where clients connect), and the `--tls-name` values. `curl --cacert` and the
    /// system trust check the URL's host against these.
    public static func names(listen: String, extra: [String]) -> [String] {
        var out = ["localhost", "127.0.0.1", "::1"]
        if listen == "0.0.0.0" || listen == "::" || listen == "[::]" {
            out += localAddresses()
            let host = ProcessInfo.processInfo.hostName
            if !host.isEmpty { out.append(host) }
        } else {
            out.append(listen.hasPrefix("[") && listen.hasSuffix("]") ? String(listen.dropFirst().dropLast()) : listen)
        }
        out += extra
        var seen = Set<String>()
        return out.filter { !$0.isEmpty && seen.insert($0.lowercased()).inserted }
    }

    /// The IPv4 and IPv6 addresses of this host's interfaces (link-local ones left out).
    static func localAddresses() -> [String] {
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0 else { return [] }
        defer { freeifaddrs(list) }
        var out: [String] = []
        var p = list
        while let entry = p {
            defer { p = entry.pointee.ifa_next }
            guard let sa = entry.pointee.ifa_addr else { continue }
            var buffer = [CChar](repeating: 0, count: Int(NI_MAXHOST))
            let family = Int32(sa.pointee.sa_family)
            guard family == AF_INET || family == AF_INET6 else { continue }
            let length = socklen_t(family == AF_INET ? MemoryLayout<sockaddr_in>.size : MemoryLayout<sockaddr_in6>.size)
            guard getnameinfo(sa, length, &buffer, socklen_t(buffer.count), nil, 0, NI_NUMERICHOST) == 0 else { continue }
            let text = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if text.contains("%") || text.lowercased().hasPrefix("fe80") { continue }
            out.append(text)
        }
        return out
    }

    /// An IPv4 or IPv6 address as the 4 or 16 bytes a certificate's IP name holds.
    static func addressBytes(_ s: String) -> [UInt8]? {
        var v4 = in_addr(), v6 = in6_addr()
        if inet_pton(AF_INET, s, &v4) == 1 { return withUnsafeBytes(of: &v4) { Array($0) } }
        if inet_pton(AF_INET6, s, &v6) == 1 { return withUnsafeBytes(of: &v6) { Array($0) } }
        return nil
    }
}

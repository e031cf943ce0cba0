import Crypto
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
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            let key = P256.Signing.PrivateKey()
            let certKey = Certificate.PrivateKey(key)
            let name = try DistinguishedName { CommonName("ferryd") }
            let now = Date()
            var sans: [GeneralName] = [.dnsName("localhost")]
            for h in hosts {
                if let v4 = IPv4Parts(h) { sans.append(.ipAddress(.init(contentBytes: v4[...]))) } else if !h.isEmpty { sans.append(.dnsName(h)) }
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
            FileManager.default.createFile(atPath: keyPath, contents: nil, attributes: [.posixPermissions: 0o600])
            try Data(key.pemRepresentation.utf8).write(to: URL(fileURLWithPath: keyPath))
            try Data(try cert.serializeAsPEM().pemString.utf8).write(to: URL(fileURLWithPath: certPath))
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

    static func IPv4Parts(_ s: String) -> [UInt8]? {
        let parts = s.split(separator: ".")
        guard parts.count == 4 else { return nil }
        let bytes = parts.compactMap { UInt8($0) }
        return bytes.count == 4 ? bytes : nil
    }
}

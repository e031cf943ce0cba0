import FerryCore
@testable import FerryServer
import FerryTestSupport
import Foundation
import Logging
import Testing

/// TLS between ferryd and PostgreSQL: a server of its own with ssl=on and a certificate
/// for `localhost` signed by a CA the test makes (openssl). ferryd's store connects with
/// `sslmode=verify-full&sslrootcert=CA`, over TLS, and refuses a server whose certificate
/// another CA signed or that names another host, with an error that says so.
@Suite("PostgreSQL over TLS")
struct DatabaseTLSTests {
    /// Two CAs and a server certificate (SAN DNS:localhost only) signed by the first.
    struct PKI {
        let folder: String
        var ca: String { folder + "/ca.pem" }
        var otherCA: String { folder + "/other-ca.pem" }
        var serverCertificate: String { folder + "/server.pem" }
        var serverKey: String { folder + "/server.key" }

        init() throws {
            folder = NSTemporaryDirectory() + "ferry-db-tls-\(UUID().uuidString.prefix(8))"
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
            for (name, cn) in [("ca", "ferry test CA"), ("other-ca", "another CA")] {
                try run(["openssl", "req", "-x509"] + ec + ["-keyout", "\(folder)/\(name).key", "-out", "\(folder)/\(name).pem", "-days", "2",
                         "-subj", "/CN=\(cn)", "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"])
            }
            try run(["openssl", "req", "-new"] + ec + ["-keyout", "\(folder)/server.key", "-out", "\(folder)/server.csr", "-subj", "/CN=localhost"])
            try "subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n"
                .write(toFile: "\(folder)/server.ext", atomically: true, encoding: .utf8)
            try run(["openssl", "x509", "-req", "-in", "\(folder)/server.csr", "-CA", "\(folder)/ca.pem", "-CAkey", "\(folder)/ca.key",
                     "-CAcreateserial", "-days", "2", "-extfile", "\(folder)/server.ext", "-out", "\(folder)/server.pem"])
        }
    }

    static func open(_ url: String) async throws -> PostgresEngine {
        var logger = Logger(label: "test-db-tls")
        logger.logLevel = .critical
        return try await PostgresEngine.open(try DatabaseURL(url), maxConnections: 1, logger: logger)
    }

    /// The error `open` fails with, as text; nil when it connects.
    static func refusal(_ url: String) async -> String? {
        do {
            let engine = try await open(url)
            await engine.close()
            return nil
        } catch {
            print("refused as expected: \(error)")
            return "\(error)"
        }
    }

    @Test func verifyFullConnectsOverTLSAndRefusesAWrongCAOrHostName() async throws {
        let pki = try PKI()
        defer { try? FileManager.default.removeItem(atPath: pki.folder) }
        let server = try PostgresServer(tls: (try String(contentsOfFile: pki.serverCertificate, encoding: .utf8),
                                              try String(contentsOfFile: pki.serverKey, encoding: .utf8)))
        defer { try? server.stop() }
        try server.psql("CREATE DATABASE ferry")
        let credentials = "postgres://\(server.user):\(server.password)@"
        let base = "\(server.port)/ferry?sslmode=verify-full&sslrootcert="

        // The right CA and the name in the certificate: ferryd's store opens (migrations
        // run), serves the API, and its connections are encrypted.
        let h = try await Harness.make(engine: .postgres, database: try DatabaseURL(credentials + "localhost:" + base + pki.ca))
        try await h.withClient { c in
            let r = try await c.call(.post, "/v1/segments", token: h.admin, json: #"{"name":"over-tls"}"#)
            #expect(r.status == 201, "\(r.body)")
        }
        #expect(try server.psql("SELECT name FROM segments WHERE name = 'over-tls'", database: "ferry") == "over-tls\n")
        let encrypted = try server.psql("""
            SELECT count(*) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid)
            WHERE a.datname = 'ferry' AND a.client_addr IS NOT NULL AND s.ssl
            """)
        let plain = try server.psql("""
            SELECT count(*) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid)
            WHERE a.datname = 'ferry' AND a.client_addr IS NOT NULL AND NOT s.ssl
            """)
        #expect((Int(encrypted.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0) >= 1, "ferryd's open connections use TLS")
        #expect(plain.trimmingCharacters(in: .whitespacesAndNewlines) == "0", "no unencrypted connection")
        await h.services.engine.close()

        // Another CA: the chain does not verify.
        let wrongCA = await Self.refusal(credentials + "localhost:" + base + pki.otherCA)
        #expect(wrongCA?.contains("certificate") == true, "\(wrongCA ?? "connected")")
        #expect(wrongCA?.contains("TLS") == true, "\(wrongCA ?? "connected")")
        // The right CA, but 127.0.0.1 is not a name the certificate holds.
        let wrongName = await Self.refusal(credentials + "127.0.0.1:" + base + pki.ca)
        #expect(wrongName?.contains("127.0.0.1") == true, "\(wrongName ?? "connected")")
        #expect(wrongName?.contains("host name") == true, "\(wrongName ?? "connected")")
        // verify-ca checks the chain only: the same address connects.
        let chainOnly = await Self.refusal(credentials + "127.0.0.1:\(server.port)/ferry?sslmode=verify-ca&sslrootcert=" + pki.ca)
        #expect(chainOnly == nil, "\(chainOnly ?? "")")
        // The ferryd binary as the Kubernetes Deployment runs it: the URL in
        // FERRY_DATABASE_URL. It serves with the right CA, and with another it does not start
        // and says why.
        let data = URL(fileURLWithPath: pki.folder).appendingPathComponent("data")
        let good = try FerrydProcess(data: data, port: RawHTTP.freePort(),
                                     environment: ["FERRY_DATABASE_URL": credentials + "localhost:" + base + pki.ca])
        defer { good.terminate() }
        try await good.waitUntilUp()
        #expect(try await HTTPClient.request("GET", "http://127.0.0.1:\(good.port)/health", token: nil).0 == 200)
        good.terminate()
        let bad = try FerrydProcess(data: data, port: RawHTTP.freePort(), logs: true,
                                    environment: ["FERRY_DATABASE_URL": credentials + "localhost:" + base + pki.otherCA])
        defer { bad.terminate() }
        for _ in 0..<300 where bad.process.isRunning { try await Task.sleep(for: .milliseconds(50)) }
        #expect(!bad.process.isRunning, "ferryd with a database it cannot verify must not serve")
        #expect(bad.output.contains("TLS to the database at localhost:\(server.port) failed (sslmode=verify-full)"), "\(bad.output)")

        // A root certificate file that is not there is named, before any connection.
        let missing = await Self.refusal(credentials + "localhost:" + base + pki.folder + "/absent.pem")
        #expect(missing?.contains("absent.pem") == true, "\(missing ?? "connected")")
    }
}

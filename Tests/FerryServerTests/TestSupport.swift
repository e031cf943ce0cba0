import FerryCore
@testable import FerryServer
import FerryTestSupport
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Testing
import WireGuard

/// A response reduced to what the tests look at.
struct Reply: Sendable {
    var status: Int
    var body: String

    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try FerryJSON.decoder().decode(T.self, from: Data(body.utf8))
    }

    /// The `error.field` of an error body.
    var errorField: String? { (try? decode(ErrorBody.self))?.error.field }
    var errorCode: String? { (try? decode(ErrorBody.self))?.error.code }
}

/// The store's two engines: every store and API suite runs on both (`@Test(arguments: Engine.all)`).
enum Engine: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite, postgres
    static let all = allCases
    var testDescription: String { rawValue }
}

/// Fresh PostgreSQL databases on the test process's server (FerryTestSupport's
/// `PostgresServer`): a template migrated once by ferryd's own engine, then one copy per
/// test (`CREATE DATABASE … TEMPLATE`, much faster than migrating each).
actor PostgresDatabases {
    static let shared = PostgresDatabases()
    /// Made once; callers arriving while it is being made wait for the same task.
    private var template: Task<String, any Error>?

    func fresh() async throws -> DatabaseURL { try DatabaseURL(try await freshURL()) }

    /// A fresh database's URL, with its password.
    func freshURL() async throws -> String {
        let server = try PostgresServer.start()
        let making = template ?? Task {
            let name = "ferry_template"
            try server.psql("CREATE DATABASE \(name)")
            var logger = Logger(label: "test-template")
            logger.logLevel = .critical
            let engine = try await PostgresEngine.open(try DatabaseURL(server.url(database: name)), maxConnections: 1, logger: logger)
            await engine.close()
            return name
        }
        template = making
        let source = try await making.value
        let name = "t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        try server.psql("CREATE DATABASE \(name) TEMPLATE \(source)")
        return server.url(database: name)
    }
}

/// The coordinator built the way ferryd builds it, on an in-memory (or file) store, or a
/// fresh PostgreSQL database, and a manual clock, driven through Hummingbird's router test
/// client.
struct Harness: Sendable {
    let config: FerryConfiguration
    let services: FerryServices
    let clock: ManualClock
    var store: FerryStore { services.store }
    var admin: String

    /// `database`: a PostgreSQL database to open again (a restart), else a fresh one.
    static func make(engine: Engine = .sqlite, data: URL? = nil, database: DatabaseURL? = nil, clock: ManualClock = ManualClock(),
                     configure: (inout FerryConfiguration) -> Void = { _ in }) async throws -> Harness {
        var config = FerryConfiguration(dataDirectory: data)
        if engine == .postgres {
            if let database { config.database = database } else { config.database = try await PostgresDatabases.shared.fresh() }
        }
        config.clock = clock
        config.logLevel = .critical
        config.initialIPv6 = IPPrefix("fd00:abcd:1234::/48")
        // Router tests make their writes as fast as they can with one admin token; the
        // write rate limit has its own tests (LimitsRouterTests).
        config.limits.writeRate = 0
        configure(&config)
        let services = try await buildServices(config)
        let admin = try await services.store.createAdminToken(name: "test-admin")
        return Harness(config: config, services: services, clock: clock, admin: admin)
    }

    func withClient<T: Sendable>(_ body: @Sendable @escaping (any TestClientProtocol) async throws -> T) async throws -> T {
        let app = try buildApplication(config, services: services)
        return try await app.test(.router) { client in try await body(client) }
    }
}

extension TestClientProtocol {
    @discardableResult
    func call(_ method: HTTPRequest.Method, _ path: String, token: String?, json: String? = nil, rawAuthorization: String? = nil) async throws -> Reply {
        var headers: HTTPFields = [:]
        if let token { headers[.authorization] = "Bearer \(token)" }
        if let rawAuthorization { headers[.authorization] = rawAuthorization }
        if json != nil { headers[.contentType] = "application/json" }
        return try await execute(uri: path, method: method, headers: headers, body: json.map { ByteBuffer(string: $0) }) { r in
            Reply(status: Int(r.status.code), body: String(buffer: r.body))
        }
    }
}

/// A fresh WireGuard public key in base64.
func newPublicKey() -> String { PrivateKey.generate().publicKey.base64 }

extension Harness {
    /// Segments developers, ci, others; a gateway routing 172.20.0.0/24; rules
    /// developers -> 172.20.0.0/24 and ci -> 172.20.0.0/24.
    func seed(_ client: any TestClientProtocol) async throws {
        for s in ["developers", "ci", "others"] {
            let r = try await client.call(.post, "/v1/segments", token: admin, json: #"{"name":"\#(s)"}"#)
            #expect(r.status == 201, "\(r.body)")
        }
        let g = try await client.call(.post, "/v1/gateways", token: admin,
                                      json: #"{"name":"gw1","endpoint":"gw.example.com:51820","subnets":["172.20.0.0/24"],"publicKey":"\#(newPublicKey())"}"#)
        #expect(g.status == 201, "\(g.body)")
        for s in ["developers", "ci"] {
            let r = try await client.call(.post, "/v1/policy/rules", token: admin, json: #"{"from":"\#(s)","toSubnet":"172.20.0.0/24"}"#)
            #expect(r.status == 201, "\(r.body)")
        }
    }

    func token(_ client: any TestClientProtocol, _ json: String) async throws -> String {
        let r = try await client.call(.post, "/v1/tokens", token: admin, json: json)
        #expect(r.status == 201, "\(r.body)")
        return try r.decode(TokenCreated.self).secret
    }

    func peer(_ client: any TestClientProtocol, name: String, segment: String = "developers", token: String? = nil, extra: String = "") async throws -> PeerView {
        let r = try await client.call(.post, "/v1/peers", token: token ?? admin,
                                      json: #"{"name":"\#(name)","segment":"\#(segment)","publicKey":"\#(newPublicKey())"\#(extra)}"#)
        #expect(r.status == 201, "\(r.body)")
        return try r.decode(PeerCreated.self).peer
    }
}

extension ManualClock {
    /// Moves the clock forward to the wall clock if it is behind (never back).
    func catchUpToRealTime() {
        let lag = Int64(Date().timeIntervalSince1970 * 1000) - now()
        if lag > 0 { advance(by: lag) }
    }
}

import FerryCore
@testable import FerryServer
import Foundation
import HTTPTypes
import WireGuard
import HummingbirdTesting
import Testing

@Suite("Bad input")
struct BadInputTests {
    struct Case: Sendable, CustomStringConvertible {
        var method: HTTPRequest.Method
        var path: String
        var json: String
        var status: Int
        var field: String?
        var description: String { "\(method) \(path) \(json)" }
    }

    static let cases: [Case] = [
        Case(method: .post, path: "/v1/segments", json: #"{"name":"x","ipv4":"10.10.300.0/24"}"#, status: 400, field: "ipv4"),
        Case(method: .post, path: "/v1/segments", json: #"{"name":"x","ipv4":"10.10.1.7/24"}"#, status: 400, field: "ipv4"),
        Case(method: .post, path: "/v1/segments", json: #"{"name":"x","ipv4":"192.168.0.0/24"}"#, status: 400, field: "ipv4"),
        Case(method: .post, path: "/v1/segments", json: #"{"name":"x","ipv4":"10.10.1.128/25"}"#, status: 409, field: "ipv4"),
        Case(method: .post, path: "/v1/segments", json: #"{"name":"developers"}"#, status: 409, field: "name"),
        Case(method: .post, path: "/v1/segments", json: #"{"name":"bad name!"}"#, status: 400, field: "name"),
        Case(method: .post, path: "/v1/segments", json: #"{"name":"x","colour":"red"}"#, status: 400, field: "colour"),
        Case(method: .post, path: "/v1/segments", json: #"{"name":42}"#, status: 400, field: "name"),
        Case(method: .post, path: "/v1/segments", json: #"[1,2]"#, status: 400, field: nil),
        Case(method: .post, path: "/v1/segments", json: #"{"name":"#, status: 400, field: nil),
        Case(method: .post, path: "/v1/peers", json: #"{"name":"p","segment":"developers","publicKey":"not-a-key"}"#, status: 400, field: "publicKey"),
        Case(method: .post, path: "/v1/peers", json: #"{"name":"p","segment":"developers","publicKey":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}"#, status: 400, field: "publicKey"),
        Case(method: .post, path: "/v1/peers", json: #"{"name":"p","segment":"developers"}"#, status: 400, field: "publicKey"),
        Case(method: .post, path: "/v1/peers", json: #"{"name":"existing","segment":"developers","generateKey":true}"#, status: 409, field: "name"),
        Case(method: .post, path: "/v1/peers", json: #"{"name":"p","segment":"nowhere","generateKey":true}"#, status: 400, field: "segment"),
        Case(method: .post, path: "/v1/peers", json: #"{"name":"p","segment":"developers","generateKey":true,"mtu":100}"#, status: 400, field: "mtu"),
        Case(method: .post, path: "/v1/peers", json: #"{"name":"p","segment":"developers","generateKey":true,"tunnel":"half"}"#, status: 400, field: "tunnel"),
        Case(method: .post, path: "/v1/peers", json: #"{"name":"p","segment":"developers","generateKey":true,"dns":["1.2.3"]}"#, status: 400, field: "dns[0]"),
        Case(method: .post, path: "/v1/peers", json: #"{"name":"p","segment":"developers","generateKey":true,"allowedIPs":["10.0.0.0/33"]}"#, status: 400, field: "allowedIPs[0]"),
        Case(method: .post, path: "/v1/peers", json: #"{"name":"p","segment":"developers","generateKey":true,"ttlSeconds":0}"#, status: 400, field: "ttlSeconds"),
        Case(method: .post, path: "/v1/peers", json: #"{"name":"full","segment":"tiny","generateKey":true}"#, status: 409, field: "segment"),
        Case(method: .post, path: "/v1/gateways", json: #"{"name":"g2","endpoint":"nope","publicKey":"x"}"#, status: 400, field: "endpoint"),
        Case(method: .post, path: "/v1/gateways", json: #"{"name":"g2","endpoint":"gw2.example.com:51820","subnets":["10.10.5.0/24"],"publicKey":"ZZ"}"#, status: 400, field: "publicKey"),
        Case(method: .post, path: "/v1/policy/rules", json: #"{"from":"developers","toSubnet":"192.168.99.0/24"}"#, status: 400, field: "toSubnet"),
        Case(method: .post, path: "/v1/policy/rules", json: #"{"from":"developers"}"#, status: 400, field: "toSegment"),
        // a "subnet" that holds the overlay would open every segment
        Case(method: .post, path: "/v1/policy/rules", json: #"{"from":"developers","toSubnet":"10.0.0.0/8"}"#, status: 400, field: "toSubnet"),
        Case(method: .post, path: "/v1/peers", json: #"{"name":"p","segment":"developers","generateKey":true,"allowedIPs":[]}"#, status: 400, field: "allowedIPs"),
        Case(method: .post, path: "/v1/policy/rules", json: #"{"from":"ghosts","toSegment":"developers"}"#, status: 400, field: "from"),
        Case(method: .post, path: "/v1/tokens", json: #"{"name":"t","scope":"root"}"#, status: 400, field: "scope"),
        Case(method: .post, path: "/v1/tokens", json: #"{"name":"t","scope":"ci"}"#, status: 400, field: "segment"),
        Case(method: .patch, path: "/v1/network", json: #"{"mtu":70000}"#, status: 400, field: "mtu"),
        Case(method: .patch, path: "/v1/network", json: #"{"ipv4":"10.20.0.0/16"}"#, status: 409, field: "ipv4"),
    ]

    /// Each bad request gets a 4xx naming the field and writes nothing: same audit log,
    /// same peers, same segments.
    @Test(arguments: Engine.all, cases) func refusedAndNothingWritten(engine: Engine, _ c: Case) async throws {
        let h = try await Harness.make(engine: engine)
        try await h.withClient { client in
            try await h.seed(client)
            _ = try await h.peer(client, name: "existing")
            #expect(try await client.call(.post, "/v1/segments", token: h.admin, json: #"{"name":"tiny","ipv4":"10.10.200.0/30"}"#).status == 201)
            for i in 0..<2 { _ = try await h.peer(client, name: "tiny\(i)", segment: "tiny") }
            let audit = try await h.store.auditCount()
            let peers = try await h.store.peers(caller: .system("t"))
            let segments = try await h.store.segments()
            let r = try await client.call(c.method, c.path, token: h.admin, json: c.json)
            #expect(r.status == c.status, "\(c): \(r.status) \(r.body)")
            #expect(r.errorField == c.field, "\(c): \(r.body)")
            if let field = c.field { #expect(r.body.contains(field)) }
            #expect(try await h.store.auditCount() == audit)
            #expect(try await h.store.peers(caller: .system("t")) == peers)
            #expect(try await h.store.segments() == segments)
            return ()
        }
    }
}

import FerryCore
@testable import FerryServer
import Foundation
import Testing

@Suite("Grants belong to the admin")
struct GrantTests {
    /// An enrolment token that does not allow a full tunnel (or mesh) refuses a device that
    /// asks for one with 403, and nothing is written; one that allows it enrols.
    @Test(arguments: Engine.all) func enrolmentCannotAskForMoreThanItsToken(engine: Engine) async throws {
        let h = try await Harness.make(engine: engine)
        try await h.withClient { client in
            try await h.seed(client)
            let plain = try await h.token(client, #"{"name":"enr","scope":"enroll","segment":"developers"}"#)
            let audit = try await h.store.auditCount(), peers = try await h.store.peers(caller: .system("t")).count
            for ask in [#""tunnel":"full""#, #""mesh":true"#] {
                let r = try await client.call(.post, "/v1/enroll", token: plain, json: #"{"name":"laptop","publicKey":"\#(newPublicKey())",\#(ask)}"#)
                #expect(r.status == 403, "\(ask): \(r.status) \(r.body)")
                #expect(r.body.contains("ask an admin"))
            }
            #expect(try await h.store.auditCount() == audit)
            #expect(try await h.store.peers(caller: .system("t")).count == peers)
            // the refused token is still unused
            let ok = try await client.call(.post, "/v1/enroll", token: plain, json: #"{"name":"laptop","publicKey":"\#(newPublicKey())"}"#)
            #expect(ok.status == 201, "\(ok.body)")

            let full = try await h.token(client, #"{"name":"enr2","scope":"enroll","segment":"developers","allowFullTunnel":true,"allowMesh":true}"#)
            let r = try await client.call(.post, "/v1/enroll", token: full, json: #"{"name":"laptop2","publicKey":"\#(newPublicKey())","tunnel":"full","mesh":true}"#)
            #expect(r.status == 201, "\(r.body)")
            let bad = try await client.call(.post, "/v1/tokens", token: h.admin, json: #"{"name":"x","scope":"ci","segment":"ci","allowMesh":true}"#)
            #expect(bad.status == 400 && bad.body.contains("allowMesh"))
        }
    }

    /// Ports are validated and named by index; gateway targets must exist; the views show both.
    @Test(arguments: Engine.all) func rulesWithPortsAndGatewayTargets(engine: Engine) async throws {
        let h = try await Harness.make(engine: engine)
        try await h.withClient { client in
            try await h.seed(client)
            let gw = try #require(try await client.call(.get, "/v1/gateways", token: h.admin).decode(ListResponse<GatewayView>.self).items.first)
            let bad = try await client.call(.post, "/v1/policy/rules", token: h.admin,
                                            json: #"{"from":"developers","toGateway":"\#(gw.name)","ports":["tcp/22","tcp/0"]}"#)
            #expect(bad.status == 400 && bad.body.contains("ports[1]"), "\(bad.body)")
            let none = try await client.call(.post, "/v1/policy/rules", token: h.admin, json: #"{"from":"developers","toGateway":"nope"}"#)
            #expect(none.status == 400 && none.body.contains("toGateway"))
            let two = try await client.call(.post, "/v1/policy/rules", token: h.admin,
                                            json: #"{"from":"developers","toGateway":"\#(gw.name)","toSegment":"ci"}"#)
            #expect(two.status == 400)
            let ok = try await client.call(.post, "/v1/policy/rules", token: h.admin,
                                           json: #"{"from":"developers","toGateway":"\#(gw.name)","ports":["tcp/22","tcp/22","udp/53"]}"#)
            #expect(ok.status == 201, "\(ok.body)")
            let view = try ok.decode(PolicyRuleView.self)
            #expect(view.toGateway == gw.name && view.ports == ["tcp/22", "udp/53"])
            let again = try await client.call(.post, "/v1/policy/rules", token: h.admin,
                                              json: #"{"from":"developers","toGateway":"\#(gw.name)","ports":["udp/53","tcp/22"]}"#)
            #expect(again.status == 409)
            let listed = try await client.call(.get, "/v1/policy/rules", token: h.admin).decode(ListResponse<PolicyRuleView>.self).items
            #expect(listed.contains(view))
        }
    }
}

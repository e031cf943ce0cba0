import FerryCore
@testable import FerryServer
import Foundation
import Testing

/// Mesh candidates through the API (docs/mesh.md): what an agent reports reaches its mesh
/// peers' maps at once; bad lists are refused and change nothing; link counts reach /metrics.
@Suite("Mesh candidates")
struct MeshCandidatesTests {
    @Test(arguments: Engine.all) func reportedCandidatesReachTheOtherSidesMap(engine: Engine) async throws {
        let h = try await Harness.make(engine: engine)
        try await h.withClient { client in
            try await h.seed(client)
            let rule = try await client.call(.post, "/v1/policy/rules", token: h.admin, json: #"{"from":"developers","toSegment":"developers"}"#)
            #expect(rule.status == 201, "\(rule.body)")
            let a = try await h.peer(client, name: "laptop", extra: #","mesh":true"#)
            let b = try await h.peer(client, name: "builder", extra: #","mesh":true"#)
            // Neither has an endpoint: no mesh entry yet.
            let before = try await client.call(.get, "/v1/peers/\(a.id)/netmap", token: h.admin).decode(NetworkMap.self)
            #expect(!before.peers.contains { $0.role == "mesh" })

            let report = try await client.call(.post, "/v1/peers/\(b.id)/report", token: h.admin,
                                               json: #"{"candidates":["192.168.1.20:41641","[fd00::20]:41641","192.168.1.20:41641"],"meshDirect":1,"meshRelayed":2}"#)
            #expect(report.status == 204, "\(report.body)")
            let map = try await client.call(.get, "/v1/peers/\(a.id)/netmap?since=\(before.version)&wait=1", token: h.admin)
                .decode(NetworkMap.self)
            let entry = try #require(map.peers.first { $0.role == "mesh" && $0.name == "builder" })
            #expect(entry.candidates == ["192.168.1.20:41641", "[fd00::20]:41641"])
            #expect(entry.endpoint == "192.168.1.20:41641")
            #expect(entry.allowedIPs.contains("\(b.ipv4)/32"))
            // The gateway's map has no candidates (not a mesh entry).
            let metrics = try await client.call(.get, "/metrics", token: nil).body
            #expect(metrics.contains("ferry_mesh_links{path=\"direct\"} 1"), "\(metrics)")
            #expect(metrics.contains("ferry_mesh_links{path=\"relayed\"} 2"))
            return ()
        }
    }

    @Test(arguments: Engine.all) func badCandidatesAreRefusedAndChangeNothing(engine: Engine) async throws {
        let h = try await Harness.make(engine: engine)
        try await h.withClient { client in
            try await h.seed(client)
            let a = try await h.peer(client, name: "laptop", extra: #","mesh":true"#)
            let ok = try await client.call(.post, "/v1/peers/\(a.id)/report", token: h.admin, json: #"{"candidates":["10.0.0.5:5000"]}"#)
            #expect(ok.status == 204, "\(ok.body)")
            let nine = (1...9).map { "\"10.0.0.\($0):5000\"" }.joined(separator: ",")
            for body in [#"{"candidates":["laptop.example.com:5000"]}"#, #"{"candidates":["10.0.0.5"]}"#, #"{"candidates":["10.0.0.5:0"]}"#,
                         "{\"candidates\":[\(nine)]}", #"{"candidates":"10.0.0.5:5000"}"#, #"{"meshDirect":-1}"#] {
                let r = try await client.call(.post, "/v1/peers/\(a.id)/report", token: h.admin, json: body)
                #expect(r.status == 400, "\(body): \(r.status) \(r.body)")
            }
            let peers = try await h.store.compiler().topology.peers
            #expect(peers.first { $0.id == a.id }?.localCandidates.map(\.description) == ["10.0.0.5:5000"])
            return ()
        }
    }
}

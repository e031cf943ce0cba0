import FerryCore
@testable import FerryServer
import Foundation
import HTTPTypes
import WireGuard
import HummingbirdTesting
import Testing

@Suite("Address allocation through the store")
struct AllocationTests {
    /// 10,000 peers in a /16 segment: every address different, inside the segment.
    @Test func tenThousandUniqueInASlash16() async throws {
        let h = try await Harness.make { $0.initialIPv4 = IPPrefix("10.64.0.0/15") }
        let seg = try await h.store.createSegment(CreateSegmentRequest(name: "big", ipv4: "10.65.0.0/16"), caller: .system("t"))
        #expect(seg.ipv4 == "10.65.0.0/16")
        var seen = Set<String>()
        for i in 0..<10_000 {
            let p = try await h.store.createPeer(CreatePeerRequest(name: "p\(i)", segment: "big", publicKey: newPublicKey()), caller: .system("t"))
            #expect(seen.insert(p.peer.ipv4).inserted, "\(p.peer.ipv4) handed out twice")
        }
        #expect(seen.count == 10_000)
        let prefix = try #require(IPPrefix("10.65.0.0/16"))
        #expect(seen.allSatisfy { prefix.contains(IPAddress($0)!) && $0 != "10.65.0.0" && $0 != "10.65.255.255" })
    }

    /// A /29 holds six peers; the seventh is refused naming the segment; a freed address
    /// comes back.
    @Test(arguments: Engine.all) func exhaustionIsReportedAndFreedAddressesReturn(engine: Engine) async throws {
        let h = try await Harness.make(engine: engine)
        _ = try await h.store.createSegment(CreateSegmentRequest(name: "small", ipv4: "10.10.9.0/29"), caller: .system("t"))
        var ids: [String] = []
        for i in 0..<6 {
            ids.append(try await h.store.createPeer(CreatePeerRequest(name: "s\(i)", segment: "small", publicKey: newPublicKey()), caller: .system("t")).peer.id)
        }
        await #expect(throws: APIError.exhausted("segment", "segment small (10.10.9.0/29) has no free address")) {
            try await h.store.createPeer(CreatePeerRequest(name: "s6", segment: "small", publicKey: newPublicKey()), caller: .system("t"))
        }
        try await h.store.deletePeer(id: ids[2], caller: .system("t"))
        let again = try await h.store.createPeer(CreatePeerRequest(name: "s7", segment: "small", publicKey: newPublicKey()), caller: .system("t"))
        #expect(again.peer.ipv4 == "10.10.9.3")
    }

    /// 100 concurrent creates through the router: 100 different addresses.
    @Test(arguments: Engine.all) func concurrentCreatesNeverShareAnAddress(engine: Engine) async throws {
        let h = try await Harness.make(engine: engine)
        try await h.withClient { client in
            try await h.seed(client)
            let results = try await withThrowingTaskGroup(of: Reply.self) { group in
                for i in 0..<100 {
                    group.addTask {
                        try await client.call(.post, "/v1/peers", token: h.admin,
                                              json: #"{"name":"c\#(i)","segment":"developers","publicKey":"\#(newPublicKey())"}"#)
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(results.allSatisfy { $0.status == 201 })
            let addresses = try results.map { try $0.decode(PeerCreated.self).peer.ipv4 }
            #expect(Set(addresses).count == 100)
            return ()
        }
    }
}

@testable import FerryAgent
import FerryCore
import FerryTestSupport
import Foundation
import Testing
import WireGuard

/// An agent's client with several coordinators (`ferry join URL URL...`), against real
/// ferryd processes on loopback: the order, failing over within 5 s when one stops
/// answering (also in the middle of a long poll), and each URL's own pinned certificate.
/// The two ferryds are separate networks (two SQLite files): this tests the client; the
/// same network on two replicas needs the PostgreSQL store.
@Suite("Several coordinators", .serialized)
struct CoordinatorFailoverTests {
    @Test(.timeLimit(.minutes(3)))
    func failsOverInOrderWithEachPin() async throws {
        let a = try FerrydServer(extra: ["--tls", "auto"])
        defer { a.stop() }
        let b = try FerrydServer(extra: ["--tls", "auto"])
        defer { b.stop() }
        let pemA = try await CertificatePin.fetch(url: a.url, fingerprint: try #require(a.fingerprint))
        let pemB = try await CertificatePin.fetch(url: b.url, fingerprint: try #require(b.fingerprint))

        // Each URL is checked against its own pin: A with B's certificate pinned is refused.
        let wrong = try CoordinatorClient(coordinators: [(a.url, pemB)], token: nil)
        await #expect(throws: FerryError.self) { try await wrong.exchange(.GET, "/health") }
        // ... and with B after it, B answers (A is never trusted).
        let skip = try CoordinatorClient(coordinators: [(a.url, pemB), (b.url, pemB)], token: nil)
        #expect(try await skip.exchange(.GET, "/health").status == 200)
        #expect(skip.baseURL == b.url)

        // Nothing listening, and an address that never answers: both passed over in time.
        let closed = "https://127.0.0.1:\(Int.random(in: 46000...49000))"
        for dead in [closed, "https://192.0.2.1:8443"] {
            let c = try CoordinatorClient(coordinators: [(dead, pemA), (b.url, pemB)], token: nil)
            let t0 = ContinuousClock.now
            #expect(try await c.exchange(.GET, "/health").status == 200)
            let took = ContinuousClock.now - t0
            #expect(took < .seconds(5), "\(dead) passed over after \(took)")
            #expect(c.baseURL == b.url)
        }

        // In order: A first while it answers; A killed in the middle of a long poll, the poll
        // ends at B within 5 s, and B stays the one in use.
        let client = try CoordinatorClient(coordinators: [(a.url, pemA), (b.url, pemB)], token: a.adminToken)
        #expect(try await client.exchange(.GET, "/health").status == 200)
        #expect(client.baseURL == a.url)
        let _: SegmentView = try await client.call(.POST, "/v1/segments", body: CreateSegmentRequest(name: "dev"))
        let created = try await client.call(.POST, "/v1/peers", body: CreatePeerRequest(name: "poller", segment: "dev",
                                                                                          publicKey: PrivateKey.generate().publicKey.base64),
                                            as: PeerCreated.self)
        let map = try #require(try await client.netmap(peerID: created.peer.id))
        let poll = Task { () -> Result<(status: Int, body: Data), FerryError> in
            do throws(FerryError) {
                return .success(try await client.exchange(.GET, "/v1/peers/\(created.peer.id)/netmap",
                                                          query: [("since", String(map.version)), ("wait", "20")], extraSeconds: 20))
            } catch { return .failure(error) }
        }
        try await Task.sleep(for: .seconds(1))
        kill(a.process.processIdentifier, SIGKILL)
        let t0 = ContinuousClock.now
        let answer = await poll.value
        let took = ContinuousClock.now - t0
        // B is another network: it does not know the peer (401 for A's token), but it answered.
        #expect(took < .seconds(5), "the long poll moved on after \(took)")
        #expect((try? answer.get().status) == 401, "\(answer)")
        #expect(client.baseURL == b.url)
        #expect(try await client.exchange(.GET, "/health").status == 200)
        #expect(client.baseURL == b.url, "stays with the one that answers")
    }
}

@Suite("ferry join with several coordinator URLs")
struct JoinSeveralCoordinatorsTests {
    /// Two URLs of one ferryd (its address and `localhost`): the first is the enrolment's
    /// coordinator, the second an alternate with its own pinned certificate file; a
    /// fingerprint count that matches neither one nor every URL is refused up front.
    @Test func joinKeepsEveryURLWithItsPin() throws {
        let server = try FerrydServer(extra: ["--tls", "auto"])
        defer { server.stop() }
        let fp = try #require(server.fingerprint)
        let admin = ["--url", server.url, "--token", server.adminToken, "--fingerprint", fp]
        #expect(try CLI.run(["segments", "add", "developers"] + admin).status == 0)
        let token = try CLI.run(["tokens", "add", "laptop", "--scope", "enroll", "--segment", "developers"] + admin)
            .stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let other = "https://localhost:\(server.port)"
        let state = CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: state) }
        let refused = try CLI.run(["join", server.url, other, "--token", token, "--fingerprint", fp, "--fingerprint", fp, "--fingerprint", fp,
                                   "--state", state.path])
        #expect(refused.status != 0 && refused.stderr.contains("one --fingerprint for every URL"))
        #expect(!FileManager.default.fileExists(atPath: state.path), "nothing written")
        let joined = try CLI.run(["join", server.url, other, "--token", token, "--fingerprint", fp, "--name", "multi", "--state", state.path])
        #expect(joined.status == 0, "\(joined.stderr)")
        let s = try FerryJSON.decoder().decode(AgentState.self, from: Data(contentsOf: state.appendingPathComponent("state.json")))
        #expect(s.coordinator == server.url)
        #expect(s.alternates == [AlternateCoordinator(url: other, fingerprint: CertificatePin.normalize(fp))])
        let pem = state.appendingPathComponent("coordinator-2.pem").path
        #expect((try FileManager.default.attributesOfItem(atPath: pem)[.posixPermissions] as? Int) == 0o600)
        let dir = StateDirectory(path: state.path)
        #expect(try dir.coordinators(for: s).map(\.url) == [server.url, other])
        // The device's client uses both: status works through it.
        let status = try CLI.run(["status", "--state", state.path, "--json"])
        #expect(status.status == 0, "\(status.stderr)")
        #expect(status.stdout.contains("\"segment\" : \"developers\""))
    }
}

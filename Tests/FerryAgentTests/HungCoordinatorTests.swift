@testable import FerryAgent
import FerryCore
import FerryTestSupport
import Foundation
import NIOCore
import Testing
import WireGuard

/// A coordinator that hangs (SIGSTOP: the kernel still accepts and acknowledges, the
/// process never answers) is left within 5 s by a client of several coordinators, also in
/// the middle of a long poll, because long polls ask for heartbeats (`Prefer: heartbeat`):
/// ferryd sends the head at once and a newline a second while it waits. Real ferryd
/// processes on loopback; the two are separate networks (the client logic is tested here,
/// replicas of one network in scripts/e2e/replica-failover.sh).
@Suite("A coordinator that hangs", .serialized)
struct HungCoordinatorTests {
    @Test(.timeLimit(.minutes(2)))
    func heartbeatsAndAHungCoordinator() async throws {
        let a = try FerrydServer()
        defer { kill(a.process.processIdentifier, SIGCONT); a.stop() }
        let b = try FerrydServer()
        defer { b.stop() }
        let client = try CoordinatorClient(coordinators: [(a.url, nil), (b.url, nil)], token: a.adminToken)
        let _: SegmentView = try await client.call(.POST, "/v1/segments", body: CreateSegmentRequest(name: "dev"))
        let created = try await client.call(.POST, "/v1/peers", body: CreatePeerRequest(name: "poller", segment: "dev",
                                                                                          publicKey: PrivateKey.generate().publicKey.base64),
                                            as: PeerCreated.self)
        let id = created.peer.id
        let map = try #require(try await client.netmap(peerID: id))

        // The wire: the head at once (200, Preference-Applied), then only newlines for a
        // wait with no change; without the preference, the old 304 after the wait.
        let transport = try HTTPTransport(url: try #require(URL(string: a.url)), pinnedFingerprint: nil)
        let target = "/v1/peers/\(id)/netmap?since=\(map.version)&wait=5"
        let auth = [("Authorization", "Bearer \(a.adminToken)")]
        let t0 = ContinuousClock.now
        let headAt = LockedBox<(ContinuousClock.Instant, String?)?>(nil)
        let beat = try await transport.exchange(method: .GET, target: target, headers: auth + [("Prefer", "heartbeat")], body: nil,
                                                timeout: .seconds(10)) { head in
            headAt.set((ContinuousClock.now, head.headers.first(name: "Preference-Applied")))
        }
        let end = ContinuousClock.now
        let (when, applied) = try #require(headAt.value)
        // Seconds apart even on a loaded machine: the head at once, the end after the wait.
        #expect(end - when >= .seconds(2), "the head came \(when - t0) after the request, the end \(end - t0)")
        #expect(applied == "heartbeat")
        #expect(beat.status == 200)
        #expect(beat.body.count >= 3 && beat.body.allSatisfy { $0 == 0x0A }, "\(String(decoding: beat.body, as: UTF8.self))")
        #expect(end - t0 >= .seconds(5), "answered before the wait was over")
        let plain = try await transport.exchange(method: .GET, target: target.replacingOccurrences(of: "wait=5", with: "wait=1"), headers: auth,
                                                 body: nil, timeout: .seconds(10))
        #expect(plain.status == 304)
        // Errors keep their status: another peer's map with an unknown id is a 404 at once.
        let missing = try await transport.exchange(method: .GET, target: "/v1/peers/nope/netmap?since=1&wait=20",
                                                   headers: auth + [("Prefer", "heartbeat")], body: nil, timeout: .seconds(10))
        #expect(missing.status == 404)

        // Through the client (which asks for heartbeats with several coordinators): no
        // change is nil; a change during the wait is the new map, decoded after the newlines.
        #expect(try await client.netmap(peerID: id, since: map.version, wait: 1) == nil)
        let changed = Task { try await client.netmap(peerID: id, since: map.version, wait: 20) }
        try await Task.sleep(for: .seconds(1.5))
        let _: PeerView = try await client.call(.PATCH, "/v1/peers/\(id)", body: UpdatePeerRequest(mtu: 1380))
        let fresh = try #require(try await changed.value)
        #expect(fresh.version != map.version && fresh.interface.mtu == 1380)
        #expect(client.baseURL == a.url)

        // A hangs in the middle of a long poll: the poll ends at B within 5 s (B is another
        // network: it does not know A's token, 401, but it answered).
        let poll = Task { () -> Result<(status: Int, body: Data), FerryError> in
            do throws(FerryError) {
                return .success(try await client.exchange(.GET, "/v1/peers/\(id)/netmap", query: [("since", String(fresh.version)), ("wait", "20")],
                                                          extraSeconds: 20))
            } catch { return .failure(error) }
        }
        try await Task.sleep(for: .seconds(1.5))
        kill(a.process.processIdentifier, SIGSTOP)
        let t1 = ContinuousClock.now
        let answer = await poll.value
        let took = ContinuousClock.now - t1
        #expect(took < .seconds(5), "the long poll left the hung coordinator after \(took)")
        #expect((try? answer.get().status) == 401, "\(answer)")
        #expect(client.baseURL == b.url)

        // A request that starts at the hung one (a client that prefers A) moves on in time too.
        let other = try CoordinatorClient(coordinators: [(a.url, nil), (b.url, nil)], token: nil)
        let t2 = ContinuousClock.now
        #expect(try await other.exchange(.GET, "/health").status == 200)
        #expect(ContinuousClock.now - t2 < .seconds(5), "passed over the hung coordinator after \(ContinuousClock.now - t2)")
        #expect(other.baseURL == b.url)

        // A write is not cut for a silence (it may have been done; a single-use token would
        // be spent twice): the hung one gets its whole timeout (5 s here), then B is asked.
        let writer = try CoordinatorClient(coordinators: [(a.url, nil), (b.url, nil)], token: nil, timeout: 5)
        let t3 = ContinuousClock.now
        let wrote = try await writer.exchange(.POST, "/v1/segments", body: Data(#"{"name":"x"}"#.utf8))
        #expect(ContinuousClock.now - t3 >= .seconds(5), "the write moved on after \(ContinuousClock.now - t3)")
        #expect(wrote.status == 401 && writer.baseURL == b.url)
    }
}

/// A value set from a callback on another thread.
final class LockedBox<T: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: T
    init(_ value: T) { stored = value }
    func set(_ value: T) { lock.lock(); stored = value; lock.unlock() }
    var value: T { lock.lock(); defer { lock.unlock() }; return stored }
}

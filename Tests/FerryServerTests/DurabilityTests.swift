import FerryCore
@testable import FerryServer
import FerryTestSupport
import Foundation
import Synchronization
import Testing

@Suite("Durability", .serialized)
struct DurabilityTests {
    /// SIGKILL the real ferryd in the middle of a stream of writes, restart it: every
    /// acknowledged write is there and the integrity check passes.
    @Test func killedMidStreamLosesNoAcknowledgedWrite() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ferry-durable-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let port = RawHTTP.freePort()
        // No write rate limit: the point is a stream of writes still running at the kill.
        let first = try FerrydProcess(data: dir, port: port, extra: ["--write-rate", "0"])
        defer { first.terminate() }
        try await first.waitUntilUp()
        let token = try #require(first.output.split(separator: "\n").compactMap { $0.split(separator: " ").first { $0.hasPrefix("ferry_") } }.first)
        let base = "http://127.0.0.1:\(port)"
        let seg = try await HTTPClient.request("POST", "\(base)/v1/segments", token: String(token), json: #"{"name":"load","prefixLength":20}"#)
        #expect(seg.0 == 201)

        // Four writers, each creating peers one after another; the process dies under them
        // once 200 writes have been acknowledged (a count, not a time: the test process may
        // be starved by other suites running in parallel).
        let acked = AckCounter()
        let acknowledged = try await withThrowingTaskGroup(of: [String].self) { group in
            for w in 0..<4 {
                group.addTask {
                    var mine: [String] = []
                    for i in 0..<100_000 {
                        let name = "w\(w)-\(i)"
                        guard let (status, _) = try? await HTTPClient.request(
                            "POST", "\(base)/v1/peers", token: String(token),
                            json: #"{"name":"\#(name)","segment":"load","publicKey":"\#(newPublicKey())"}"#) else { break }
                        if status == 201 { mine.append(name); acked.add() } else { break }
                    }
                    return mine
                }
            }
            group.addTask {
                for _ in 0..<6000 where acked.value < 200 { try await Task.sleep(for: .milliseconds(10)) }
                first.kill9()
                return []
            }
            return try await group.reduce(into: [String]()) { $0 += $1 }
        }
        #expect(acknowledged.count > 20, "too few writes before the kill to mean anything: \(acknowledged.count)")

        let (status, check) = try await Binaries.run(Binaries.ferryd.path, ["check", "--data", dir.path])
        #expect(status == 0 && check.contains("ok"), "\(check)")

        let second = try FerrydProcess(data: dir, port: port + 1)
        defer { second.terminate() }
        try await second.waitUntilUp()
        #expect(!second.output.contains("ferry_"), "a restart must not print a new admin token")
        let (code, body) = try await HTTPClient.request("GET", "http://127.0.0.1:\(port + 1)/v1/peers?segment=load", token: String(token))
        #expect(code == 200)
        let names = Set(try FerryJSON.decoder().decode(ListResponse<PeerView>.self, from: Data(body.utf8)).items.map(\.name))
        let missing = acknowledged.filter { !names.contains($0) }
        #expect(missing.isEmpty, "acknowledged but lost: \(missing.prefix(10))")
        let audit = try await HTTPClient.request("GET", "http://127.0.0.1:\(port + 1)/v1/audit/export", token: String(token)).1
        let created = audit.split(separator: "\n").filter { $0.contains("\"peer.create\"") }.count
        #expect(created == names.count, "every stored peer has its audit record (same transaction)")
    }
}

final class AckCounter: Sendable {
    private let count = Mutex(0)
    func add() { count.withLock { $0 += 1 } }
    var value: Int { count.withLock { $0 } }
}

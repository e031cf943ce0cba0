import FerryCore
import FerryTestSupport
import Foundation
import Testing
@testable import FerryAgent

/// `ferry doctor` against a live ferryd on loopback (no root): the coordinator's clock
/// through the agent's client, the coordinator check, and the doctor's one-line errors
/// when it cannot run.
@Suite("Doctor: the command and the coordinator's clock")
struct DoctorCommandTests {
    /// A sample, given three tries: on a 2-core machine running every suite at once a
    /// single request to a debug ferryd can miss its time (the skew bound is checked on
    /// the sample that came back, so retrying cannot hide a wrong clock).
    static func sample(_ client: CoordinatorClient) async -> ClockSample? {
        for _ in 0..<3 {
            if let s = await client.clockSample() { return s }
        }
        return nil
    }

    @Test func theCoordinatorsClockOverHTTP() async throws {
        let server = try FerrydServer()
        defer { server.stop() }
        let client = try CoordinatorClient(url: server.url, token: nil)
        let sample = try #require(await Self.sample(client))
        let (skew, uncertainty) = try #require(sample.skew)
        // Same machine, same clock: only the header's rounding and the round trip.
        #expect(abs(skew) <= uncertainty + 0.01, "skew \(skew) ± \(uncertainty)")
        #expect(await ClockSkewCheck(sample: sample).run().status == .pass)
    }

    @Test func theCoordinatorsClockOverPinnedTLS() async throws {
        let server = try FerrydServer(extra: ["--tls", "auto"])
        defer { server.stop() }
        let pem = try String(contentsOf: server.data.appendingPathComponent("db/tls/cert.pem"), encoding: .utf8)
        let client = try CoordinatorClient(url: server.url, token: nil, pinnedCertificatePEM: pem)
        let sample = try #require(await Self.sample(client))
        #expect(sample.serverDate != nil)
    }

    @Test func anUnreachableCoordinatorHasNoClock() async throws {
        let client = try CoordinatorClient(url: "http://127.0.0.1:9", token: nil, timeout: 2)
        #expect(await client.clockSample() == nil)
    }

    @Test func theCoordinatorCheck() async {
        #expect(await CoordinatorCheck(url: "https://gw:8443", mapVersion: 7, problem: nil).run().status == .pass)
        let down = await CoordinatorCheck(url: "https://gw:8443", mapVersion: 7,
                                          problem: FerryError(.unreachable, "cannot reach the coordinator at https://gw:8443 (refused)")).run()
        #expect(down.status == .fail)
        #expect(down.message.hasSuffix("checked against the last map saved (version 7)"))
        #expect(down.fix[0].hasPrefix("check the coordinator's URL (https://gw:8443)"))
        let gone = await CoordinatorCheck(url: "https://gw:8443", mapVersion: 7, problem: FerryError(.unauthorized, "401")).run()
        #expect(gone.fix[0].contains("`ferry leave`, then `ferry join`"))
    }

    @Test func withoutEnrolmentOrInterfaceItSaysSoInOneLine() throws {
        let state = CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: state) }
        let notEnrolled = try CLI.run(["doctor", "--state", state.path])
        #expect(notEnrolled.status == 3)
        #expect(notEnrolled.errorLines.count == 1 && notEnrolled.stderr.contains("ferry join"))

        let server = try FerrydServer()
        defer { server.stop() }
        let admin = ["--url", server.url, "--token", server.adminToken]
        #expect(try CLI.run(["segments", "add", "developers"] + admin).status == 0)
        let secret = try CLI.run(["tokens", "add", "d", "--scope", "enroll", "--segment", "developers", "--owner", "d"] + admin)
            .stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let ifname = uniqueName("fdx")
        #expect(try CLI.run(["join", server.url, "--token", secret, "--name", "doc", "--interface", ifname, "--state", state.path]).status == 0)
        let noInterface = try CLI.run(["doctor", "--state", state.path])
        #expect(noInterface.status == 1)
        #expect(noInterface.errorLines == ["ferry: there is no interface \(ifname) here; bring it up with 'ferry up', or name the interface: ferry doctor IFNAME"])
        #expect(noInterface.stdout.isEmpty)

        #expect(try CLI.run(["doctor", "--target", "nonsense", "--state", state.path]).status == 64)
        #expect(try CLI.run(["doctor", "--timeout", "5", "--state", state.path]).status == 64)
    }
}

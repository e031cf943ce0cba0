import FerryTestSupport
import Testing
@testable import WireGuard

/// The cookie checks done before the device's lock: mac1 decides "for us or not", a cookie
/// reply made by the gate is one the initiator accepts, and its next initiation then
/// carries a cookie the gate (and the device) recognise.
@Suite struct CookieGateTests {
    @Test func cookieReplyFromTheGateLetsTheRetryIn() throws {
        let (net, a, b) = VirtualNetwork.pair(seed: 31)
        let gate = b.device.cookieGate(now: net.now)
        let idB = try #require(a.peerID(b))
        guard let peerB = a.device.peer(idB) else { Issue.record("no peer"); return }
        let start = net.sent.count
        a.device.sendHandshakeInitiation(peerB, isRetry: false, now: net.now, send: net.wire(from: a.endpoint))
        var initiation = try #require(net.sentMessages(.handshakeInitiation, from: a, since: start).last).bytes
        net.inFlight.removeAll()
        #expect(initiation.withUnsafeBytes { gate.check($0, from: a.endpoint) } == .noCookie)
        // Not for us: another key's mac1, or a flipped bit.
        initiation[20] ^= 1
        #expect(initiation.withUnsafeBytes { gate.check($0, from: a.endpoint) } == .notForUs)
        initiation[20] ^= 1
        #expect([UInt8](repeating: 1, count: 148).withUnsafeBytes { gate.check($0, from: a.endpoint) } == .notForUs)

        var rng = SeededGenerator(seed: 5)
        let reply = initiation.withUnsafeBytes { gate.reply(to: $0, from: a.endpoint, rng: &rng) }
        var bytes = [UInt8](repeating: 0, count: CookieReply.length)
        bytes.withUnsafeMutableBytes { reply.write(to: $0) }
        let outcome = bytes.withUnsafeMutableBytes { a.device.receive($0, from: b.endpoint, now: net.now, send: net.wire(from: a.endpoint)) }
        #expect(outcome == .cookieConsumed(idB))

        // The retry carries the cookie: the gate lets it through, and so does the device
        // under load (it answers with a response, not another cookie reply).
        net.advance(by: .seconds(6))
        let retries = net.sentMessages(.handshakeInitiation, from: a, since: start)
        let retry = try #require(retries.last).bytes
        #expect(retries.count >= 2)
        #expect(retry.withUnsafeBytes { gate.check($0, from: a.endpoint) } == .withCookie)
        #expect(retry.withUnsafeBytes { gate.check($0, from: Endpoint(address: .v4(IPv4Address(192, 0, 2, 99)), port: 1)) } == .noCookie)
    }
}

import FerryTestSupport
import Testing
@testable import WireGuard

/// What an attacker could change in a device, for comparing before and after garbage.
struct DeviceFingerprint: Equatable {
    var statuses: [PeerStatus]
    var indices: [UInt32]
    var handshakeStates: [String]
    var keypairs: [[ObjectIdentifier?]]
    var replayWindows: [String]

    init(_ device: borrowing Device, now: Instant) {
        statuses = device.statuses(now: now)
        indices = device.indexTable.keys.sorted()
        var states: [String] = [], kps: [[ObjectIdentifier?]] = [], windows: [String] = []
        for id in device.peerIDs {
            guard let p = device.peer(id) else { continue }
            states.append("\(p.handshake.state) \(p.handshake.localIndex) \(String(describing: p.handshake.latestTimestamp))")
            kps.append([p.keypairs.previous, p.keypairs.current, p.keypairs.next].map { $0.map(ObjectIdentifier.init) })
            windows.append(p.keypairs.all.map { "\($0.replay)" }.joined(separator: "|"))
        }
        handshakeStates = states
        keypairs = kps
        replayWindows = windows
    }
}

@Suite struct BadInputTests {
    /// 100,000+ random, truncated, extended and bit-flipped datagrams of every message type and
    /// of lengths 0–1500: no reply, no state change, no trap (TESTING.md, security properties).
    @Test func garbageDatagramsProduceNoReplyAndNoStateChange() throws {
        let (net, a, b) = VirtualNetwork.pair(seed: 11, psk: PresharedKey.generate())
        for i in 0..<20 { net.sendData(from: a, to: b, sequence: UInt64(i)); net.sendData(from: b, to: a, sequence: UInt64(i)) }
        net.flush()
        // A cookie reply, for the corpus: b under load answers a fresh initiation with one.
        // (Wait out REKEY_TIMEOUT since the last initiation, including the retry that the
        // simultaneous first packets cause.)
        net.advance(by: .seconds(12))
        b.device.handshakeBacklog = 10_000
        let idB = try #require(a.peerID(b))
        guard let peerB = a.device.peer(idB) else { Issue.record("no peer"); return }
        a.device.sendHandshakeInitiation(peerB, isRetry: false, now: net.now, send: net.wire(from: a.endpoint))
        net.flush()
        b.device.handshakeBacklog = 0
        net.advance(by: .seconds(6))
        net.advance(by: .seconds(2))
        net.flush()
        let corpus = net.sent.map(\.bytes)
        for type in 1...4 { #expect(corpus.contains { $0.first == UInt8(type) }, "no message of type \(type) captured: \(b.outcomes.suffix(5)) \(a.outcomes.suffix(5))") }

        var rng = SeededGenerator(seed: 2024)
        var replies = 0
        for target in [a, b] {
            let before = DeviceFingerprint(target.device, now: net.now)
            for i in 0..<50_000 {
                var bytes: [UInt8]
                switch i % 5 {
                case 0:  // random bytes, any length 0…1500
                    bytes = (0..<Int.random(in: 0...1500, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
                case 1:  // a plausible header (each type) then random bytes
                    let type = UInt8.random(in: 1...4, using: &rng)
                    let len = [148, 92, 64, 32, Int.random(in: 0...1500, using: &rng)].randomElement(using: &rng) ?? 0
                    bytes = (0..<len).map { _ in UInt8.random(in: 0...255, using: &rng) }
                    if len >= 4 { bytes[0] = type; bytes[1] = 0; bytes[2] = 0; bytes[3] = 0 }
                case 2:  // a captured message, truncated or extended
                    bytes = corpus.randomElement(using: &rng) ?? []
                    if Bool.random(using: &rng), !bytes.isEmpty {
                        bytes.removeLast(Int.random(in: 1...bytes.count, using: &rng))
                    } else {
                        bytes += (0..<Int.random(in: 1...64, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
                    }
                case 3:  // a captured message with one to four bits flipped
                    bytes = corpus.randomElement(using: &rng) ?? []
                    guard !bytes.isEmpty else { continue }
                    for _ in 0..<Int.random(in: 1...4, using: &rng) {
                        let bit = Int.random(in: 0..<bytes.count * 8, using: &rng)
                        bytes[bit / 8] ^= 1 << UInt8(bit % 8)
                    }
                default:  // a captured message replayed as is
                    bytes = corpus.randomElement(using: &rng) ?? []
                }
                let outcome = bytes.withUnsafeMutableBytes { buf in
                    target.device.receive(buf, from: a.endpoint, now: net.now, send: { _, _ in replies += 1 })
                }
                if case .dropped = outcome {} else {
                    Issue.record("garbage accepted: \(outcome) for \(bytes.prefix(8))")
                }
            }
            #expect(DeviceFingerprint(target.device, now: net.now) == before)
        }
        #expect(replies == 0)
        // And the tunnel still works.
        net.sendData(from: a, to: b, sequence: 1000)
        net.flush()
        #expect(b.delivered.compactMap(sequence).last == 1000)
    }

    /// Under load, an initiation without a valid mac2 gets a cookie reply and is not processed;
    /// once the initiator has the cookie, its retry passes; mac2 bound to another source fails.
    @Test func underLoadCookieRoundTrip() throws {
        let (net, a, b) = VirtualNetwork.pair(seed: 21)
        b.device.handshakeBacklog = 10_000
        net.sendData(from: a, to: b, sequence: 1)
        net.flush()
        #expect(b.outcomes.first == .cookieReplySent)
        #expect(a.outcomes.first == .cookieConsumed(a.peerID(b)!))
        #expect(!a.hasSession(with: b, net))
        // The retry (after REKEY_TIMEOUT) carries mac2 and is processed although b is loaded.
        net.advance(by: .seconds(6))
        #expect(a.hasSession(with: b, net))
        #expect(b.delivered.compactMap(sequence) == [1])

        // The same initiation from another address: mac2 does not match that source.
        let initiation = try #require(net.sentMessages(.handshakeInitiation, from: a).last)
        var moved = initiation
        moved.from = Endpoint(address: .v4(IPv4Address(198, 51, 100, 7)), port: 4000)
        let count = b.outcomes.count
        net.deliver(moved)
        #expect(b.outcomes.count == count + 1)
        #expect(b.outcomes.last == .cookieReplySent)
    }

    /// Under load, valid cookies from one source are limited to the token bucket's burst.
    @Test func underLoadRateLimitPerSource() throws {
        let (net, a, b) = VirtualNetwork.pair(seed: 31)
        b.device.handshakeBacklog = 10_000
        net.sendData(from: a, to: b, sequence: 1)
        net.advance(by: .seconds(6))
        let initiation = try #require(net.sentMessages(.handshakeInitiation, from: a).last)
        var limited = 0
        for _ in 0..<50 {
            net.deliver(initiation)
            if b.outcomes.last == .dropped(.rateLimited) { limited += 1 }
        }
        #expect(limited >= 40)
    }
}

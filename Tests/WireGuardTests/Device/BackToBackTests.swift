import Testing
@testable import WireGuard

/// Two cores wired back to back on a virtual clock (TESTING.md layer 3). No sleeps: minutes of
/// protocol time run in milliseconds.
@Suite struct BackToBackTests {
    func pair(psk: PresharedKey? = nil) -> (VirtualNetwork, Node, Node) { VirtualNetwork.pair(psk: psk) }

    @Test func handshakeAndDataBothWays() throws {
        let (net, a, b) = pair()
        #expect(net.sendData(from: a, to: b, sequence: 1) == .staged(try #require(a.peerID(b))))
        net.flush()
        #expect(a.hasSession(with: b, net))
        #expect(b.delivered.compactMap(sequence) == [1])
        // The responder can send only after confirmation, which the first packet gave.
        #expect(b.hasSession(with: a, net))
        guard case .transmit = net.sendData(from: b, to: a, sequence: 2) else { Issue.record("no session"); return }
        net.flush()
        #expect(a.delivered.compactMap(sequence) == [2])
        for i in 3...100 { net.sendData(from: i % 2 == 0 ? a : b, to: i % 2 == 0 ? b : a, sequence: UInt64(i)) }
        net.flush()
        #expect(a.delivered.count + b.delivered.count == 100)
        #expect(b.status(a, net)?.rxBytes == a.status(b, net)?.txBytes)
        #expect(a.status(b, net)?.rxBytes == b.status(a, net)?.txBytes)
        #expect(a.status(b, net)?.lastHandshakeUnixNanoseconds ?? 0 > 0)
    }

    @Test func presharedKeyWorksAndMismatchFails() throws {
        let (net, a, b) = pair(psk: PresharedKey.generate())
        net.sendData(from: a, to: b, sequence: 1)
        net.flush()
        #expect(b.delivered.count == 1)

        let (net2, c, d) = pair(psk: PresharedKey.generate())
        d.device.setPresharedKey(PresharedKey.generate(), for: try #require(d.peerID(c)))
        net2.sendData(from: c, to: d, sequence: 1)
        net2.advance(by: .seconds(20))
        #expect(!c.hasSession(with: d, net2))
        #expect(d.delivered.isEmpty)
        #expect(c.outcomes.contains(.dropped(.handshake(.decryptionFailed))))
    }

    @Test func rekeyAfterTimeAndRejectAfterTime() throws {
        let (net, a, b) = pair()
        net.sendData(from: a, to: b, sequence: 0)
        net.flush()
        let initiationsBefore = net.sentMessages(.handshakeInitiation, from: a).count
        // Traffic every second: at 120 s the initiator rekeys on send.
        var seq: UInt64 = 1
        for _ in 0..<125 {
            net.advance(by: .seconds(1))
            net.sendData(from: a, to: b, sequence: seq); seq += 1
            net.sendData(from: b, to: a, sequence: seq); seq += 1
            net.flush()
        }
        let rekeys = net.sentMessages(.handshakeInitiation, from: a).count - initiationsBefore
        #expect(rekeys == 1)
        #expect(a.delivered.count + b.delivered.count == Int(seq))

        // A message sealed now and delivered after REJECT_AFTER_TIME is refused.
        let start = net.sent.count
        net.sendData(from: a, to: b, sequence: 999)
        let captured = try #require(net.sent[start...].last { $0.bytes.first == 4 })
        net.inFlight.removeAll()
        net.filter = { _ in false }
        net.advance(by: .seconds(181))
        net.deliver(captured)
        #expect(b.outcomes.last == .dropped(.expiredKeypair) || b.outcomes.last == .dropped(.unknownIndex))
        #expect(!a.hasSession(with: b, net))
    }

    @Test func passiveKeepaliveAfterTenSecondsIdle() {
        let (net, a, b) = pair()
        net.sendData(from: a, to: b, sequence: 1)
        net.flush()
        let start = net.sent.count
        net.advance(by: .milliseconds(9_900))
        #expect(net.sentMessages(.transportData, from: b, since: start).isEmpty)
        net.advance(by: .milliseconds(200))
        let keepalives = net.sentMessages(.transportData, from: b, since: start)
        #expect(keepalives.count == 1)
        #expect(keepalives.first?.bytes.count == 32)
        #expect(a.outcomes.last == .keepalive(a.peerID(b)!))
        // Idle both ways afterwards: nothing more.
        let after = net.sent.count
        net.advance(by: .seconds(20))
        #expect(net.sentMessages(.transportData, from: b, since: after).isEmpty)
    }

    @Test func persistentKeepalive() throws {
        let (net, a, b) = pair()
        let id = try #require(a.peerID(b))
        a.device.setPersistentKeepalive(25, for: id, now: net.now, send: { _, _ in })
        net.advance(by: .seconds(1))
        let start = net.sent.count
        net.advance(by: .seconds(100))
        let fromA = net.sentMessages(.transportData, from: a, since: start).filter { $0.bytes.count == 32 }
        #expect(fromA.count == 4)
    }

    @Test func retriesEveryFiveSecondsThenGivesUp() throws {
        let (net, a, b) = pair()
        net.filter = { $0.from != a.endpoint }  // b never hears a
        let t0 = net.now
        net.sendData(from: a, to: b, sequence: 1)
        net.advance(by: .seconds(200), step: .milliseconds(10))
        let times = net.sent.enumerated().filter { $0.element.from == a.endpoint && $0.element.bytes.first == 1 }
            .map { $0.offset }
        #expect(times.count == 20)  // 1 + MAX_TIMER_HANDSHAKES + 1 retries, as the kernel ("after 20 attempts")
        _ = t0
    }

    @Test func retryIntervalsAreFiveSecondsPlusBoundedJitter() {
        let (net, a, b) = pair()
        net.filter = { $0.from != a.endpoint }
        var times: [Instant] = []
        let probe = net.sent.count
        net.sendData(from: a, to: b, sequence: 1)
        if net.sent.count > probe { times.append(net.now) }
        var seen = net.sent.count
        for _ in 0..<20_000 {
            net.advance(by: .milliseconds(10), step: .milliseconds(10))
            if net.sent[seen...].contains(where: { $0.from == a.endpoint && $0.bytes.first == 1 }) { times.append(net.now) }
            seen = net.sent.count
        }
        #expect(times.count == 20)
        for (x, y) in zip(times, times.dropFirst()) {
            let gap = y - x
            #expect(gap >= .seconds(5))
            #expect(gap <= .milliseconds(5_334 + 10))
        }
        // Given up: the last attempt is REKEY_ATTEMPT_TIME-ish after the first, then silence.
        if let first = times.first, let last = times.last {
            #expect(last - first >= .seconds(95))
            #expect(last - first < .seconds(102))
        }
    }

    @Test func simultaneousInitiationEndsWithSessionsBothWays() throws {
        let (net, a, b) = pair()
        net.sendData(from: a, to: b, sequence: 1)
        net.sendData(from: b, to: a, sequence: 2)
        net.flush()
        // Both initiations crossed: each side answered the other's and dropped the answer to
        // its own (the kernel does the same). The retransmit timers' jitter breaks the tie;
        // 10 ms steps let the two timers fire apart, as real clocks do.
        #expect(!a.hasSession(with: b, net) && !b.hasSession(with: a, net))
        net.advance(by: .seconds(12), step: .milliseconds(10))
        #expect(a.hasSession(with: b, net))
        #expect(b.hasSession(with: a, net))
        net.sendData(from: a, to: b, sequence: 3)
        net.sendData(from: b, to: a, sequence: 4)
        net.flush()
        #expect(Set(b.delivered.compactMap(sequence)).isSuperset(of: [1, 3]))
        #expect(Set(a.delivered.compactMap(sequence)).isSuperset(of: [2, 4]))
    }

    @Test func lossReorderingAndDuplicationDeliverEachArrivingPacketOnce() throws {
        let (net, a, b) = pair()
        net.sendData(from: a, to: b, sequence: 0)
        net.flush()
        net.lossRate = 0.10
        net.duplicateRate = 0.10
        net.reorder = true
        var arrived = Set<UInt64>()
        let filterSeq: (WireDatagram) -> Bool = { _ in true }
        net.filter = filterSeq
        for seq in 1...5_000 as ClosedRange<UInt64> {
            let start = net.sent.count
            net.sendData(from: a, to: b, sequence: seq)
            let ours = net.sent[start...].map(\.bytes)
            if net.inFlight.contains(where: { ours.contains($0.bytes) }) { arrived.insert(seq) }
            if seq % 64 == 0 { net.flush() }
        }
        net.flush()
        let got = b.delivered.compactMap(sequence).filter { $0 > 0 }
        #expect(got.count == Set(got).count, "a packet was delivered twice")
        #expect(Set(got) == arrived)
        #expect(arrived.count > 4_300)
        #expect(b.outcomes.contains(.dropped(.replayed)))
    }

    @Test func peerRestartingWithSameKeyRecovers() throws {
        let (net, a, b) = pair()
        net.sendData(from: a, to: b, sequence: 1)
        net.flush()
        // b restarts: same key, no state. Its clock moved on, so its timestamps are newer.
        let b2 = Node(name: 2, seed: 99, privateKey: b.privateKey)
        net.nodes = [a, b2]
        b2.device.wallClockOffset = 1_700_000_000_000_000_000 + 60_000_000_000
        let id = try #require(b2.addPeer(a.publicKey))
        b2.device.addAllowedIP(IPPrefix(.v4(a.innerAddress), 32)!, for: id)
        b2.device.setEndpoint(a.endpoint, for: id)
        // a still sends on the old session: b2 drops it, then a's new-handshake timer recovers.
        net.sendData(from: a, to: b2, sequence: 2)
        net.advance(by: .seconds(20))
        net.sendData(from: a, to: b2, sequence: 3)
        net.flush()
        #expect(b2.delivered.compactMap(sequence).contains(3))
    }

    @Test func peerRestartingWithNewKey() throws {
        let (net, a, b) = pair()
        net.sendData(from: a, to: b, sequence: 1)
        net.flush()
        let b2 = Node(name: 2, seed: 77)
        net.nodes = [a, b2]
        a.device.removePeer(try #require(a.peerID(b)))
        net.connect(a, b2)
        #expect(!a.hasSession(with: b2, net))
        net.sendData(from: a, to: b2, sequence: 2)
        net.flush()
        #expect(b2.delivered.compactMap(sequence) == [2])
        // The old key gets nowhere with a.
        let stale = Node(name: 2, seed: 2)
        net.nodes = [a, stale]
        let sid = try #require(stale.addPeer(a.publicKey))
        stale.device.addAllowedIP(IPPrefix(.v4(a.innerAddress), 32)!, for: sid)
        stale.device.setEndpoint(a.endpoint, for: sid)
        net.sendData(from: stale, to: a, sequence: 3)
        net.flush()
        #expect(a.outcomes.last == .dropped(.unknownPeer))
    }

    @Test func privateKeyChangeStartsNewHandshake() throws {
        let (net, a, b) = pair()
        net.sendData(from: a, to: b, sequence: 1)
        net.flush()
        let newKey = PrivateKey.generate()
        a.device.setPrivateKey(newKey)
        #expect(!a.hasSession(with: b, net))
        b.device.removePeer(try #require(b.peerID(a)))
        let id = try #require(b.addPeer(newKey.publicKey))
        b.device.addAllowedIP(IPPrefix(.v4(a.innerAddress), 32)!, for: id)
        net.sendData(from: a, to: b, sequence: 2)
        net.flush()
        #expect(b.delivered.compactMap(sequence) == [1, 2])
    }

    @Test func spoofedInnerSourceIsDropped() throws {
        let (net, a, b) = pair()
        net.sendData(from: a, to: b, sequence: 1)
        net.flush()
        // a claims an inner source that is not in its allowed IPs on b.
        net.send(ipv4Packet(from: IPv4Address(10, 9, 9, 9), to: b.innerAddress, sequence: 2), from: a)
        net.flush()
        #expect(b.outcomes.last == .dropped(.disallowedSource))
        #expect(b.delivered.count == 1)
    }

    @Test func replayedHandshakeInitiationIsRejectedAndResetsNothing() throws {
        let (net, a, b) = pair()
        net.sendData(from: a, to: b, sequence: 1)
        net.flush()
        let initiation = try #require(net.sentMessages(.handshakeInitiation, from: a).first)
        let before = b.status(a, net)
        net.deliver(initiation)
        #expect(b.outcomes.last == .dropped(.handshake(.replayedTimestamp)))
        #expect(b.status(a, net) == before)
        net.sendData(from: a, to: b, sequence: 2)
        net.flush()
        #expect(b.delivered.count == 2)
    }

    @Test func noRouteAndNoEndpoint() throws {
        let (net, a, b) = pair()
        #expect(net.send(ipv4Packet(from: a.innerAddress, to: IPv4Address(10, 1, 1, 1), sequence: 1), from: a) == .dropped(.noRoute))
        let c = Node(name: 3, seed: 3)
        net.nodes.append(c)
        let id = try #require(a.addPeer(c.publicKey))
        a.device.addAllowedIP(IPPrefix(.v4(c.innerAddress), 32)!, for: id)
        #expect(net.sendData(from: a, to: c, sequence: 1) == .dropped(.noEndpoint))
        _ = b
    }

    @Test func keysZeroedAfterThreeRejectAfterTimes() throws {
        let (net, a, b) = pair()
        net.sendData(from: a, to: b, sequence: 1)
        net.flush()
        let peer = try #require(a.peerObject(b))
        #expect(peer.keypairs.current != nil)
        net.advance(by: .seconds(539), step: .seconds(1))
        #expect(peer.keypairs.current != nil, "zeroed too early")
        net.advance(by: .seconds(2), step: .seconds(1))
        #expect(peer.keypairs.all.isEmpty)
        #expect(a.device.indexTable.isEmpty)
    }

    @Test func initiationsFasterThanTwentyMillisecondsAreFlood() throws {
        let (net, a, b) = pair()
        let peer = try #require(a.peerObject(b))
        let send = net.wire(from: a.endpoint)
        a.device.sendHandshakeInitiation(peer, isRetry: false, now: net.now, send: send)
        net.flush()
        #expect(b.outcomes.contains(.handshake(try #require(b.peerID(a)))))
        // A second initiation 19 ms later (a newer timestamp: whitening rounds to ~16.8 ms).
        net.now = net.now + .milliseconds(19)
        peer.lastSentHandshake = nil
        a.device.sendHandshakeInitiation(peer, isRetry: false, now: net.now, send: send)
        net.flush()
        #expect(b.outcomes.contains(.dropped(.handshake(.flood))))
    }
}

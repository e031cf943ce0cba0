extension Device {
    // MARK: Sending handshake messages

    /// Sends a handshake initiation unless one went out less than REKEY_TIMEOUT ago
    /// (kernel: wg_packet_send_queued_handshake_initiation). A retry keeps the attempt count.
    mutating func sendHandshakeInitiation(_ peer: Peer, isRetry: Bool, now: Instant, send: SendDatagram) {
        if !isRetry { peer.timers.handshakeAttempts = 0 }
        if let last = peer.lastSentHandshake, now - last < WireGuardConstants.rekeyTimeout { return }
        guard let identity else { return }
        peer.lastSentHandshake = now

        clearHandshake(of: peer)
        let index = allocateIndex(.handshake(peer.id))
        let wall = wallClock(now)
        let timestamp = TAI64N.forHandshake(unixSeconds: wall.seconds, nanoseconds: wall.nanoseconds)
        let ephemeral = newEphemeral()
        guard let message = try? peer.handshake.createInitiation(identity: identity, ephemeral: ephemeral,
                                                                 localIndex: index, timestamp: timestamp) else {
            indexTable[index] = nil
            return
        }
        let out = scratch.slice(0, HandshakeInitiation.length)
        message.write(to: out)
        peer.cookies.addMACs(to: out, now: now)

        peer.timers.anyAuthenticatedPacketTraversal(now: now, persistentKeepaliveInterval: peer.persistentKeepaliveInterval)
        peer.timers.anyAuthenticatedPacketSent()
        transmit(UnsafeRawBufferPointer(out), to: peer, send: send)
        peer.timers.handshakeInitiated(now: now, jitter: jitter())
    }

    /// Creates the response to a consumed initiation, derives the responder's (unconfirmed)
    /// session and sends the response.
    mutating func sendHandshakeResponse(_ peer: Peer, now: Instant, send: SendDatagram) {
        let previous = peer.handshake.localIndex
        if case .handshake(let owner) = indexTable[previous], owner == peer.id { indexTable[previous] = nil }
        let index = allocateIndex(.handshake(peer.id))
        let ephemeral = newEphemeral()
        guard let message = try? peer.handshake.createResponse(ephemeral: ephemeral, localIndex: index) else {
            indexTable[index] = nil
            return
        }
        let out = scratch.slice(0, HandshakeResponse.length)
        message.write(to: out)
        peer.cookies.addMACs(to: out, now: now)

        guard beginSession(peer, now: now) else { return }
        peer.timers.anyAuthenticatedPacketTraversal(now: now, persistentKeepaliveInterval: peer.persistentKeepaliveInterval)
        peer.timers.anyAuthenticatedPacketSent()
        peer.lastSentHandshake = now
        transmit(UnsafeRawBufferPointer(out), to: peer, send: send)
    }

    /// Turns a completed handshake into a keypair under the handshake's index.
    mutating func beginSession(_ peer: Peer, now: Instant) -> Bool {
        guard let s = peer.handshake.deriveSession() else { return false }
        let keypair = Keypair(send: s.send, receive: s.receive, created: now, isInitiator: s.isInitiator,
                              localIndex: s.localIndex, remoteIndex: s.remoteIndex)
        indexTable[s.localIndex] = .keypair(peer.id, keypair)
        for dropped in peer.keypairs.install(keypair) { release(dropped) }
        peer.timers.sessionDerived(now: now)
        return true
    }

    /// Hands bytes to the network for a peer, counting them; nothing happens without an endpoint.
    func transmit(_ bytes: UnsafeRawBufferPointer, to peer: Peer, send: SendDatagram) {
        guard let endpoint = peer.endpoint else { return }
        peer.txBytes &+= UInt64(bytes.count)
        send(bytes, endpoint)
    }

    // MARK: Receiving handshake messages

    /// True while the handshake backlog is at the threshold, and for a second after.
    mutating func isUnderLoad(now: Instant) -> Bool {
        if handshakeBacklog >= underLoadThreshold {
            lastUnderLoad = now
            return true
        }
        if let last = lastUnderLoad {
            if now - last < WireGuardConstants.underLoadAfterTime { return true }
            lastUnderLoad = nil
        }
        return false
    }

    /// Initiations and responses: MACs, load and cookies first (kernel receive.c
    /// wg_receive_handshake_packet), then the Noise step.
    mutating func receiveHandshake(_ datagram: UnsafeRawBufferPointer, type: MessageType, from source: Endpoint,
                                   now: Instant, send: SendDatagram) -> ReceiveOutcome {
        guard datagram.count == type.length else { return .dropped(.malformed) }
        guard let identity else { return .dropped(.noPrivateKey) }
        let underLoad = isUnderLoad(now: now)
        var state = cookieChecker.validate(datagram, source: source, checkCookie: underLoad, now: now, rng: &rng)
        if state == .validMACWithCookie, !rateLimiter.allow(source.address, now: now) {
            state = .validMACWithCookieButRateLimited
        }
        switch (underLoad, state) {
        case (true, .validMACWithCookie), (false, .validMACButNoCookie):
            break
        case (true, .validMACButNoCookie):
            let reply = cookieChecker.createReply(to: datagram, senderIndex: datagram.loadLE32(at: 4),
                                                  source: source, now: now, rng: &rng)
            let out = scratch.slice(0, CookieReply.length)
            reply.write(to: out)
            send(UnsafeRawBufferPointer(out), source)
            return .cookieReplySent
        case (_, .validMACWithCookieButRateLimited):
            return .dropped(.rateLimited)
        default:
            return .dropped(.invalidMAC)
        }

        if type == .handshakeInitiation {
            return consumeInitiation(datagram, identity: identity, from: source, now: now, send: send)
        }
        return consumeResponse(datagram, identity: identity, from: source, now: now, send: send)
    }

    private mutating func consumeInitiation(_ datagram: UnsafeRawBufferPointer, identity: StaticIdentity,
                                            from source: Endpoint, now: Instant, send: SendDatagram) -> ReceiveOutcome {
        guard let message = HandshakeInitiation(datagram) else { return .dropped(.malformed) }
        let prefix: Handshake.InitiationPrefix
        do {
            prefix = try Handshake.decryptInitiatorStatic(message, identity: identity)
        } catch {
            return .dropped(.handshake(error))
        }
        guard let id = peersByKey[prefix.remoteStatic], let peer = peer(id) else { return .dropped(.unknownPeer) }
        do {
            try peer.handshake.consumeInitiation(message, prefix: prefix, now: now)
        } catch {
            return .dropped(.handshake(error))
        }
        peer.endpoint = source
        sendHandshakeResponse(peer, now: now, send: send)
        authenticatedHandshakeReceived(peer, length: datagram.count, now: now)
        return .handshake(id)
    }

    private mutating func consumeResponse(_ datagram: UnsafeRawBufferPointer, identity: StaticIdentity,
                                          from source: Endpoint, now: Instant, send: SendDatagram) -> ReceiveOutcome {
        guard let message = HandshakeResponse(datagram) else { return .dropped(.malformed) }
        guard case .handshake(let id) = indexTable[message.receiver], let peer = peer(id) else {
            return .dropped(.unknownIndex)
        }
        do {
            try peer.handshake.consumeResponse(message, identity: identity)
        } catch {
            return .dropped(.handshake(error))
        }
        peer.endpoint = source
        if beginSession(peer, now: now) {
            handshakeComplete(peer, now: now)
            // Either the waiting packets confirm the session, or a keepalive does.
            sendKeepalive(peer, now: now, send: send)
        }
        authenticatedHandshakeReceived(peer, length: datagram.count, now: now)
        return .handshake(id)
    }

    private func authenticatedHandshakeReceived(_ peer: Peer, length: Int, now: Instant) {
        peer.rxBytes &+= UInt64(length)
        peer.timers.anyAuthenticatedPacketReceived()
        peer.timers.anyAuthenticatedPacketTraversal(now: now, persistentKeepaliveInterval: peer.persistentKeepaliveInterval)
    }

    func handshakeComplete(_ peer: Peer, now: Instant) {
        peer.timers.handshakeComplete()
        peer.lastHandshakeUnixNanoseconds = max(1, wallClockOffset &+ now.nanoseconds)
    }

    mutating func receiveCookieReply(_ datagram: UnsafeRawBufferPointer, now: Instant) -> ReceiveOutcome {
        guard let reply = CookieReply(datagram) else { return .dropped(.malformed) }
        guard let entry = indexTable[reply.receiver], let peer = peer(entry.peer) else { return .dropped(.unknownIndex) }
        guard peer.cookies.consume(reply, now: now) else { return .dropped(.invalidCookieReply) }
        return .cookieConsumed(peer.id)
    }
}

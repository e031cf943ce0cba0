extension Device {
    // MARK: Packets from the TUN side

    /// Encrypts one packet in place. `buffer` holds the IP packet at
    /// `TransportHeader.length ..< TransportHeader.length + length` and has room behind it
    /// for up to 15 bytes of padding and the 16-byte tag.
    public mutating func send(packetIn buffer: UnsafeMutableRawBufferPointer, length: Int, now: Instant,
                              send: SendDatagram) -> SendOutcome {
        switch prepareSend(packetIn: buffer, length: length, now: now, send: send) {
        case .done(let outcome):
            return outcome
        case .job(let job):
            let n = job.seal(buffer)
            completeSend(job, now: now, send: send)
            return .transmit(job.endpoint, length: n)
        }
    }

    /// The sequential first half of sending: route by destination, pick the session, assign
    /// the counter, pad. Without a usable session the packet is staged and a handshake begins.
    public mutating func prepareSend(packetIn buffer: UnsafeMutableRawBufferPointer, length: Int, now: Instant,
                                     send: SendDatagram) -> PreparedSend {
        guard length >= 0, length <= buffer.count - TransportHeader.length else { return .done(.dropped(.bufferTooSmall)) }
        let packet = UnsafeRawBufferPointer(buffer.slice(TransportHeader.length, length))
        guard let destination = IPPacket.destination(packet) else { return .done(.dropped(.invalidInnerPacket)) }
        guard let id = allowedIPs.lookup(bytes: destination), let peer = peer(id) else {
            return .done(.dropped(.noRoute))
        }
        guard let endpoint = peer.endpoint else { return .done(.dropped(.noEndpoint)) }
        if isRoutingLoop(packet, destination: destination, to: endpoint) { return .done(.dropped(.routingLoop)) }
        guard let keypair = peer.sendingKeypair(now: now), peer.staged.isEmpty else {
            peer.staged.append(Array(packet))
            sendStagedPackets(peer, now: now, send: send)
            return .done(.staged(id))
        }
        return prepareJob(peer, keypair: keypair, in: buffer, length: length)
    }

    /// A UDP packet from our listen port to the endpoint of the very peer it is routed to: our
    /// own datagram, come back from the TUN because the route to that endpoint leads into this
    /// interface (no fwmark rule keeps it out). Sealing it again would loop for ever; the
    /// kernel module drops it too ("Avoiding routing loop"). Our sockets hold the listen port
    /// on every address, so no other local program sends from it. (A non-first fragment has
    /// no ports: it goes out once more and comes back as UDP, caught then.)
    private func isRoutingLoop(_ packet: UnsafeRawBufferPointer, destination: UnsafeRawBufferPointer, to endpoint: Endpoint) -> Bool {
        guard listenPort != 0, let ports = IPPacket.udpPorts(packet), ports.source == listenPort,
              ports.destination == endpoint.port else { return false }
        switch endpoint.address {
        case .v4(let a): return IPv4Address(bytes: destination) == a
        case .v6(let a): return IPv6Address(bytes: destination) == a
        }
    }

    /// Counter assignment and zero padding (never beyond the MTU) for a packet in `buffer`.
    private mutating func prepareJob(_ peer: Peer, keypair: Keypair, in buffer: UnsafeMutableRawBufferPointer,
                                     length: Int) -> PreparedSend {
        let aligned = (length + WireGuardConstants.paddingMultiple - 1) & ~(WireGuardConstants.paddingMultiple - 1)
        let padded = min(aligned, max(mtu, length))
        guard let endpoint = peer.endpoint else { return .done(.dropped(.noEndpoint)) }
        guard TransportHeader.length + padded + WireGuardConstants.tagLength <= buffer.count else {
            return .done(.dropped(.bufferTooSmall))
        }
        if padded > length {
            buffer.slice(TransportHeader.length + length, padded - length).initializeMemory(as: UInt8.self, repeating: 0)
        }
        let counter = keypair.sendCounter
        keypair.sendCounter &+= 1
        return .job(OutboundJob(peer: peer.id, endpoint: endpoint, keypair: keypair, counter: counter,
                                paddedLength: padded, isKeepalive: length == 0))
    }

    /// The sequential second half of sending: counters, timers, and a new handshake when the
    /// session is getting old (kernel: keep_key_fresh on send).
    public mutating func completeSend(_ job: OutboundJob, now: Instant, send: SendDatagram) {
        // The keypair still registered, as in completeReceive: a UAPI change between the two
        // halves may have removed the peer and given its slot to another.
        guard case .keypair(_, let current) = indexTable[job.keypair.localIndex], current === job.keypair,
              let peer = peer(job.peer) else { return }
        peer.txBytes &+= UInt64(job.messageLength)
        peer.timers.anyAuthenticatedPacketTraversal(now: now, persistentKeepaliveInterval: peer.persistentKeepaliveInterval)
        peer.timers.anyAuthenticatedPacketSent()
        if !job.isKeepalive { peer.timers.dataSent(now: now, jitter: jitter()) }
        let kp = job.keypair
        if kp.sendCounter > WireGuardConstants.rekeyAfterMessages
            || (kp.isInitiator && now - kp.created >= WireGuardConstants.rekeyAfterTime) {
            sendHandshakeInitiation(peer, isRetry: false, now: now, send: send)
        }
    }

    /// Sends a keepalive: an empty packet, staged like any other so that, without a
    /// session, it starts a handshake (kernel: wg_packet_send_keepalive).
    mutating func sendKeepalive(_ peer: Peer, now: Instant, send: SendDatagram) {
        if peer.staged.isEmpty { peer.staged.append([]) }
        sendStagedPackets(peer, now: now, send: send)
    }

    /// Sends every waiting packet if a session is usable, otherwise starts a handshake.
    mutating func sendStagedPackets(_ peer: Peer, now: Instant, send: SendDatagram) {
        guard !peer.staged.isEmpty else { return }
        guard peer.sendingKeypair(now: now) != nil, peer.endpoint != nil else {
            sendHandshakeInitiation(peer, isRetry: false, now: now, send: send)
            return
        }
        for packet in peer.staged.takeAll() {
            guard let keypair = peer.sendingKeypair(now: now) else { break }
            guard packet.count <= scratch.count - TransportHeader.length - WireGuardConstants.tagLength else { continue }
            packet.withUnsafeBytes { scratch.slice(TransportHeader.length, packet.count).copyMemory(from: $0) }
            guard case .job(let job) = prepareJob(peer, keypair: keypair, in: scratch, length: packet.count) else { continue }
            let n = job.seal(scratch)
            if let endpoint = peer.endpoint { send(UnsafeRawBufferPointer(scratch.slice(0, n)), endpoint) }
            completeSend(job, now: now, send: send)
        }
    }

    // MARK: Datagrams from the network

    /// Handles one datagram; transport data is decrypted in place in `datagram`.
    public mutating func receive(_ datagram: UnsafeMutableRawBufferPointer, from source: Endpoint, now: Instant,
                                 send: SendDatagram) -> ReceiveOutcome {
        switch prepareReceive(datagram, from: source, now: now, send: send) {
        case .done(let outcome):
            return outcome
        case .job(let job):
            let n = job.open(datagram)
            return completeReceive(job, plaintextLength: n, datagram: datagram, now: now, send: send)
        }
    }

    /// The sequential first half of receiving: handshake and cookie messages are handled
    /// completely; a transport message is matched to its keypair for decryption.
    public mutating func prepareReceive(_ datagram: UnsafeMutableRawBufferPointer, from source: Endpoint, now: Instant,
                                        send: SendDatagram) -> PreparedReceive {
        let bytes = UnsafeRawBufferPointer(datagram)
        guard let type = MessageType.of(bytes) else { return .done(.dropped(.malformed)) }
        switch type {
        case .handshakeInitiation, .handshakeResponse:
            return .done(receiveHandshake(bytes, type: type, from: source, now: now, send: send))
        case .cookieReply:
            return .done(receiveCookieReply(bytes, now: now))
        case .transportData:
            guard let header = TransportHeader(bytes) else { return .done(.dropped(.malformed)) }
            guard case .keypair(let id, let keypair) = indexTable[header.receiver] else {
                return .done(.dropped(.unknownIndex))
            }
            guard keypair.canReceive(now: now), header.counter < WireGuardConstants.rejectAfterMessages else {
                return .done(.dropped(.expiredKeypair))
            }
            return .job(InboundJob(peer: id, source: source, keypair: keypair, counter: header.counter,
                                   messageLength: datagram.count))
        }
    }

    /// The sequential second half of receiving: replay check, key confirmation, roaming,
    /// timers, and the inner packet's checks (cryptokey routing: its source must be in the
    /// sender's allowed IPs).
    public mutating func completeReceive(_ job: InboundJob, plaintextLength: Int?, datagram: UnsafeMutableRawBufferPointer,
                                         now: Instant, send: SendDatagram) -> ReceiveOutcome {
        guard let length = plaintextLength else { return .dropped(.decryptionFailed) }
        guard case .keypair(_, let current) = indexTable[job.keypair.localIndex], current === job.keypair,
              let peer = peer(job.peer) else { return .dropped(.peerGone) }
        guard job.keypair.replay.accept(job.counter) else { return .dropped(.replayed) }

        peer.endpoint = job.source
        let confirmation = peer.keypairs.receivedWith(job.keypair)
        if confirmation.rotated {
            if let dropped = confirmation.dropped { release(dropped) }
            handshakeComplete(peer, now: now)
            sendStagedPackets(peer, now: now, send: send)
        }
        keepKeyFreshReceiving(peer, now: now, send: send)
        peer.timers.anyAuthenticatedPacketReceived()
        peer.timers.anyAuthenticatedPacketTraversal(now: now, persistentKeepaliveInterval: peer.persistentKeepaliveInterval)
        peer.rxBytes &+= UInt64(job.messageLength)

        if length == 0 { return .keepalive(peer.id) }
        peer.timers.dataReceived(now: now)

        let plaintext = UnsafeRawBufferPointer(datagram.slice(TransportHeader.length, length))
        guard let inner = IPPacket.sourceAndLength(plaintext) else { return .dropped(.invalidInnerPacket) }
        guard allowedIPs.lookup(bytes: inner.source) == peer.id else { return .dropped(.disallowedSource) }
        return .packet(peer.id, TransportHeader.length..<TransportHeader.length + inner.length)
    }

    /// The initiator starts a new handshake when data arrives on a session close to
    /// REJECT_AFTER_TIME, once (kernel: keep_key_fresh on receive).
    private mutating func keepKeyFreshReceiving(_ peer: Peer, now: Instant, send: SendDatagram) {
        guard !peer.timers.sentLastMinuteHandshake, let current = peer.sendingKeypair(now: now),
              current.isInitiator, now - current.created >= WireGuardConstants.rekeyOnReceiveAge else { return }
        peer.timers.sentLastMinuteHandshake = true
        sendHandshakeInitiation(peer, isRetry: false, now: now, send: send)
    }
}

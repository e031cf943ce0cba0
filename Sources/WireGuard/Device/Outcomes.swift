/// Why the device dropped a datagram or a packet. Expected outcomes, not errors: hostile or
/// broken input is dropped silently (no reply) with one of these as the reason.
public enum DropReason: Equatable, Sendable {
    /// Wrong length, unknown type or non-zero reserved bytes.
    case malformed
    /// mac1 did not verify (handshake messages get no answer at all then).
    case invalidMAC
    /// Under load, a handshake message with a valid cookie from a source over its rate.
    case rateLimited
    /// No private key is configured.
    case noPrivateKey
    /// An initiation from a static key that is not a configured peer.
    case unknownPeer
    /// A handshake message that failed (decryption, replayed timestamp, flood, state).
    case handshake(HandshakeFailure)
    /// A response, cookie reply or transport message for an index we do not hold.
    case unknownIndex
    /// A cookie reply that did not decrypt or answered nothing we sent.
    case invalidCookieReply
    /// A transport message on a keypair past REJECT_AFTER_TIME or REJECT_AFTER_MESSAGES.
    case expiredKeypair
    /// A transport message whose tag did not verify.
    case decryptionFailed
    /// A transport counter seen before or older than the replay window.
    case replayed
    /// A decrypted packet that is not a well-formed IPv4/IPv6 packet.
    case invalidInnerPacket
    /// A decrypted packet whose inner source address is outside the sender's allowed IPs.
    case disallowedSource
    /// An outgoing packet whose destination is in no peer's allowed IPs.
    case noRoute
    /// An outgoing packet for a peer without a known endpoint.
    case noEndpoint
    /// An outgoing packet that does not fit the buffer with its padding and tag.
    case bufferTooSmall
    /// The peer was removed while its packet was being processed.
    /// A UDP datagram from our own listen port came back from the TUN side: the route to a
    /// peer's endpoint leads into this interface. Sending it again would loop (the kernel
    /// module: "Avoiding routing loop").
    case routingLoop
    case peerGone
}

/// What became of a datagram from the network.
public enum ReceiveOutcome: Equatable, Sendable {
    /// A data packet, decrypted in place: write `datagram[range]` to the TUN device.
    case packet(PeerID, Range<Int>)
    /// A keepalive (an empty transport message).
    case keepalive(PeerID)
    /// A handshake message consumed (any reply was handed to `send`).
    case handshake(PeerID)
    /// Under load: the handshake message was answered with a cookie reply and not processed.
    case cookieReplySent
    /// A cookie reply taken in; the next handshake message to that peer carries mac2.
    case cookieConsumed(PeerID)
    case dropped(DropReason)
}

/// What became of a packet from the TUN side.
public enum SendOutcome: Equatable, Sendable {
    /// Sealed in place: send `buffer[0..<length]` to `endpoint`.
    case transmit(Endpoint, length: Int)
    /// Waiting for a session; a handshake initiation may have been handed to `send`.
    case staged(PeerID)
    case dropped(DropReason)
}

/// Hands a datagram to the network. The bytes are only valid during the call.
public typealias SendDatagram = (UnsafeRawBufferPointer, Endpoint) -> Void

/// A transport packet ready to be sealed, possibly on another thread, between
/// `Device.prepareSend` and `Device.completeSend`.
public struct OutboundJob: @unchecked Sendable {
    public let peer: PeerID
    public let endpoint: Endpoint
    let keypair: Keypair
    let counter: UInt64
    /// Plaintext length after padding.
    let paddedLength: Int
    let isKeepalive: Bool

    /// Total length of the message `seal` produces.
    public var messageLength: Int { TransportHeader.length + paddedLength + WireGuardConstants.tagLength }

    /// Writes the header and seals the padded plaintext at `buffer[16...]` in place. Safe to
    /// call concurrently for different buffers.
    public func seal(_ buffer: UnsafeMutableRawBufferPointer) -> Int {
        TransportHeader(receiver: keypair.remoteIndex, counter: counter).write(to: buffer)
        let body = buffer.slice(TransportHeader.length, paddedLength + WireGuardConstants.tagLength)
        let sealed = keypair.sendKey.seal(counter: counter,
                                          plaintext: UnsafeRawBufferPointer(body.slice(0, paddedLength)), into: body)
        // Fail closed: should sealing ever fail, no plaintext leaves (the peer drops the
        // message, whose tag cannot verify).
        if sealed == 0 { body.initializeMemory(as: UInt8.self, repeating: 0) }
        return messageLength
    }
}

/// A transport message ready to be opened, possibly on another thread, between
/// `Device.prepareReceive` and `Device.completeReceive`.
public struct InboundJob: @unchecked Sendable {
    public let peer: PeerID
    public let source: Endpoint
    let keypair: Keypair
    let counter: UInt64
    let messageLength: Int

    /// Decrypts `datagram[16...]` in place; returns the plaintext length, or nil when the tag
    /// does not verify. Safe to call concurrently for different buffers.
    public func open(_ datagram: UnsafeMutableRawBufferPointer) -> Int? {
        let body = datagram.slice(TransportHeader.length, messageLength - TransportHeader.length)
        return keypair.receiveKey.open(counter: counter, ciphertext: UnsafeRawBufferPointer(body), into: body)
    }
}

public enum PreparedSend: Sendable {
    case job(OutboundJob)
    case done(SendOutcome)
}

public enum PreparedReceive: Sendable {
    case job(InboundJob)
    case done(ReceiveOutcome)
}

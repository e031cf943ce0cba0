/// mac1 of incoming handshake messages, checked outside the device (whitepaper §5.4.4):
/// mac1 depends only on our static public key, so a copy of its key lets the receiving
/// threads drop messages that were not made for us before they queue for the device's
/// lock. A flood of random or replayed-to-the-wrong-key initiations then costs one BLAKE2s
/// each, in parallel, and never holds up transport data or a real peer's handshake. The
/// device checks mac1 again (and mac2 under load) when it processes the message.
public struct HandshakeMAC1: Sendable, Equatable {
    let key: Bytes32

    public static func == (a: HandshakeMAC1, b: HandshakeMAC1) -> Bool { a.key.constantTimeEquals(b.key) }

    /// Whether `message` is a handshake initiation or response of the exact length whose
    /// mac1 is ours. False for every other message type.
    public func accepts(_ message: UnsafeRawBufferPointer) -> Bool {
        guard let type = MessageType.of(message), type == .handshakeInitiation || type == .handshakeResponse,
              message.count == type.length else { return false }
        let macOffset = message.count - 2 * WireGuardConstants.macLength
        let mac1 = BLAKE2s.mac(key: key, message.slice(0, macOffset))
        return mac1.constantTimeEquals(message.bytes16(at: macOffset))
    }
}

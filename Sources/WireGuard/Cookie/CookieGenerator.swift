/// The initiator's side of the cookie mechanism, one per peer: adds mac1 and mac2 to outgoing
/// handshake messages and takes in cookie replies (whitepaper §5.4.4, §5.4.7).
struct CookieGenerator {
    /// HASH("mac1----" ‖ peer's static public key).
    private let mac1Key: Bytes32
    /// HASH("cookie--" ‖ peer's static public key).
    private let decryptionKey: Bytes32
    private var cookie: Bytes16?
    private var cookieBirth = Instant.zero
    /// The mac1 of the last handshake message sent: the associated data of the cookie reply.
    private var lastMAC1: Bytes16?

    init(remoteStatic: PublicKey) {
        mac1Key = BLAKE2s.hash(WireGuardConstants.labelMAC1, remoteStatic.rawValue)
        decryptionKey = BLAKE2s.hash(WireGuardConstants.labelCookie, remoteStatic.rawValue)
    }

    /// Writes mac1 and mac2 into the last 32 bytes of a serialized handshake message.
    mutating func addMACs(to message: UnsafeMutableRawBufferPointer, now: Instant) {
        let macOffset = message.count - 2 * WireGuardConstants.macLength
        guard macOffset > 0 else { return }
        let readable = UnsafeRawBufferPointer(message)
        let mac1 = BLAKE2s.mac(key: mac1Key, readable.slice(0, macOffset))
        message.store(mac1, at: macOffset)
        lastMAC1 = mac1
        let mac2Offset = macOffset + WireGuardConstants.macLength
        if let cookie, now - cookieBirth < WireGuardConstants.cookieValidity {
            message.store(BLAKE2s.mac(key: cookie, readable.slice(0, mac2Offset)), at: mac2Offset)
        } else {
            message.store(Bytes16.zero, at: mac2Offset)
        }
    }

    /// Decrypts and stores the cookie of a reply to our last handshake message. False when we
    /// sent nothing it could answer or it does not verify.
    mutating func consume(_ reply: CookieReply, now: Instant) -> Bool {
        guard let mac1 = lastMAC1 else { return false }
        var plain = Bytes16()
        let ok = plain.withUnsafeMutableBytes { out in
            reply.encryptedCookie.withUnsafeBytes { c in
                mac1.withUnsafeBytes { ad in
                    XChaCha20Poly1305.open(key: decryptionKey, nonce: reply.nonce, ciphertext: c, additionalData: ad, into: out) != nil
                }
            }
        }
        guard ok else { return false }
        cookie = plain
        cookieBirth = now
        lastMAC1 = nil
        return true
    }
}

/// The responder's side of the cookie mechanism (whitepaper §5.4.7): checks mac1 and mac2 on
/// incoming handshake messages and makes cookie replies under load.
struct CookieChecker {
    /// HASH("mac1----" ‖ our static public key).
    private(set) var mac1Key = Bytes32.zero
    /// HASH("cookie--" ‖ our static public key).
    private var encryptionKey = Bytes32.zero
    private var secret = Bytes32.zero
    private var secretBirth: Instant?

    /// The result of checking a handshake message's MACs, as in the kernel's cookie.c.
    enum MACState: Equatable {
        case invalidMAC
        case validMACButNoCookie
        case validMACWithCookieButRateLimited
        case validMACWithCookie
    }

    mutating func setLocalPublicKey(_ key: PublicKey?) {
        guard let key else {
            mac1Key = .zero
            encryptionKey = .zero
            return
        }
        mac1Key = BLAKE2s.hash(WireGuardConstants.labelMAC1, key.rawValue)
        encryptionKey = BLAKE2s.hash(WireGuardConstants.labelCookie, key.rawValue)
    }

    /// Checks mac1 (always) and, when `checkCookie`, mac2 against the cookie for `source`.
    /// `message` is a whole handshake message of its exact length. The caller applies the
    /// per-source rate limit to `.validMACWithCookie` (giving `…ButRateLimited`).
    mutating func validate(_ message: UnsafeRawBufferPointer, source: Endpoint, checkCookie: Bool,
                           now: Instant, rng: inout some RandomNumberGenerator) -> MACState {
        let macOffset = message.count - 2 * WireGuardConstants.macLength
        guard macOffset > 0 else { return .invalidMAC }
        let mac1 = BLAKE2s.mac(key: mac1Key, message.slice(0, macOffset))
        guard mac1.constantTimeEquals(message.bytes16(at: macOffset)) else { return .invalidMAC }
        guard checkCookie else { return .validMACButNoCookie }
        let cookie = makeCookie(for: source, now: now, rng: &rng)
        let mac2Offset = macOffset + WireGuardConstants.macLength
        let mac2 = BLAKE2s.mac(key: cookie, message.slice(0, mac2Offset))
        guard mac2.constantTimeEquals(message.bytes16(at: mac2Offset)) else { return .validMACButNoCookie }
        return .validMACWithCookie
    }

    /// A cookie reply to `message` (whose sender index is `senderIndex`): our cookie for the
    /// source, encrypted with XChaCha20-Poly1305 under a random nonce, the message's mac1 as
    /// associated data.
    mutating func createReply(to message: UnsafeRawBufferPointer, senderIndex: UInt32, source: Endpoint,
                              now: Instant, rng: inout some RandomNumberGenerator) -> CookieReply {
        let cookie = makeCookie(for: source, now: now, rng: &rng)
        var reply = CookieChecker.reply(to: message, cookie: cookie, key: encryptionKey, rng: &rng)
        reply.receiver = senderIndex
        return reply
    }

    /// MAC(secret, source address ‖ source port); the secret is replaced every two minutes.
    private mutating func makeCookie(for source: Endpoint, now: Instant, rng: inout some RandomNumberGenerator) -> Bytes16 {
        refreshSecret(now: now, rng: &rng)
        return CookieChecker.cookie(secret: secret, for: source)
    }

    private mutating func refreshSecret(now: Instant, rng: inout some RandomNumberGenerator) {
        if secretBirth.map({ now - $0 >= WireGuardConstants.cookieRefreshTime }) ?? true {
            secret = Bytes32(filling: { fillRandom($0, &rng) })
            secretBirth = now
        }
    }

    /// A copy of what checking MACs and making cookie replies needs, for threads that do
    /// it before the device's lock (the secret refreshed first if due).
    mutating func gate(now: Instant, rng: inout some RandomNumberGenerator) -> CookieGate {
        refreshSecret(now: now, rng: &rng)
        return CookieGate(mac1: HandshakeMAC1(key: mac1Key), encryptionKey: encryptionKey, secret: secret)
    }

    static func cookie(secret: Bytes32, for source: Endpoint) -> Bytes16 {
        // Address ‖ port on the stack: a flood of handshake messages must not cost an
        // allocation each.
        withUnsafeTemporaryAllocation(byteCount: 18, alignment: 8) { buffer in
            var n = 0
            switch source.address {
            case .v4(let a):
                buffer.storeBytes(of: a.value.bigEndian, toByteOffset: 0, as: UInt32.self)
                n = 4
            case .v6(let a):
                buffer.storeBytes(of: a.high.bigEndian, toByteOffset: 0, as: UInt64.self)
                buffer.storeBytes(of: a.low.bigEndian, toByteOffset: 8, as: UInt64.self)
                n = 16
            }
            buffer[n] = UInt8(source.port >> 8)
            buffer[n + 1] = UInt8(source.port & 0xff)
            return BLAKE2s.mac(key: secret, UnsafeRawBufferPointer(rebasing: buffer[0..<n + 2]))
        }
    }

    /// The cookie reply for `message` (mac1 as associated data), sealed under `key`.
    static func reply(to message: UnsafeRawBufferPointer, cookie: Bytes16, key: Bytes32,
                      rng: inout some RandomNumberGenerator) -> CookieReply {
        let macOffset = message.count - 2 * WireGuardConstants.macLength
        let mac1 = message.bytes16(at: max(macOffset, 0))
        let nonce = Bytes24(filling: { fillRandom($0, &rng) })
        let encrypted = FixedBytes<32>(filling: { out in
            cookie.withUnsafeBytes { c in
                mac1.withUnsafeBytes { ad in
                    _ = XChaCha20Poly1305.seal(key: key, nonce: nonce, plaintext: c, additionalData: ad, into: out)
                }
            }
        })
        let senderIndex = message.count >= 8 ? message.loadLE32(at: 4) : 0
        return CookieReply(receiver: senderIndex, nonce: nonce, encryptedCookie: encrypted)
    }
}

/// Fills `buffer` from `rng`, eight bytes at a time.
func fillRandom(_ buffer: UnsafeMutableRawBufferPointer, _ rng: inout some RandomNumberGenerator) {
    var i = 0
    while i < buffer.count {
        let word = rng.next() as UInt64
        withUnsafeBytes(of: word) { w in
            for j in 0..<min(8, buffer.count - i) { buffer[i + j] = w[j] }
        }
        i += 8
    }
}

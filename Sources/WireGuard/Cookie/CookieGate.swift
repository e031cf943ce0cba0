/// The cookie mechanism's checks, done before the device's lock (whitepaper §5.4.7): a copy
/// of the mac1 key, the cookie encryption key and the current cookie secret, taken from the
/// device (`Device.cookieGate(now:)`) and refreshed by the caller at least every few
/// hundred milliseconds. Receiving threads check mac1 and, under load, mac2 with it, and
/// answer a message without a valid cookie with a cookie reply themselves: a flood of
/// initiations (even with a valid mac1: the attacker knows our public key) then costs two
/// BLAKE2s and one XChaCha20-Poly1305 each, in parallel, and never queues for the lock, so
/// transport data and a legitimate peer's handshake (whose retry carries the cookie) go on.
/// The device checks everything again when it processes a message.
public struct CookieGate: Sendable {
    public let mac1: HandshakeMAC1
    let encryptionKey: Bytes32
    let secret: Bytes32

    public enum Verdict: Equatable, Sendable {
        /// Not a handshake message for us (wrong type or length, or mac1 not ours).
        case notForUs
        /// mac1 is ours but mac2 is not a cookie we gave this source (lately).
        case noCookie
        /// mac1 and mac2 are valid.
        case withCookie
    }

    public func check(_ message: UnsafeRawBufferPointer, from source: Endpoint) -> Verdict {
        guard mac1.accepts(message) else { return .notForUs }
        let cookie = CookieChecker.cookie(secret: secret, for: source)
        let mac2Offset = message.count - WireGuardConstants.macLength
        let mac2 = BLAKE2s.mac(key: cookie, message.slice(0, mac2Offset))
        return mac2.constantTimeEquals(message.bytes16(at: mac2Offset)) ? .withCookie : .noCookie
    }

    /// The cookie reply to `message` from `source` (a message `check` passed on mac1).
    public func reply(to message: UnsafeRawBufferPointer, from source: Endpoint,
                      rng: inout some RandomNumberGenerator) -> CookieReply {
        CookieChecker.reply(to: message, cookie: CookieChecker.cookie(secret: secret, for: source), key: encryptionKey, rng: &rng)
    }
}

extension Device {
    /// The cookie checks for threads outside the lock; refreshes the secret if it is due.
    public mutating func cookieGate(now: Instant) -> CookieGate { cookieChecker.gate(now: now, rng: &rng) }
}

/// One direction's key of a transport session (whitepaper §5.4.6): set up once, then used for
/// every packet of the session, from several threads at once. `seal` and `open` only read the
/// key (see ChaChaPolyContext.swift), so concurrent calls are safe. The key material is wiped
/// when the last reference goes.
public final class TransportKey: @unchecked Sendable {
    /// Nil only if BoringSSL refused the key, which it does not for 32 bytes; then every call fails.
    private let context: ChaChaPolyContext?

    public init(_ key: Bytes32) {
        context = ChaChaPolyContext.make(key: key)
    }

    deinit {
        context?.destroy()
    }

    /// Seals a transport payload (no additional data) as ChaCha20-Poly1305 with nonce
    /// 4 zero bytes ‖ counter (little endian). Same contract as `ChaCha20Poly1305.seal`:
    /// returns `plaintext.count + 16`, or 0 if `out` is too small or badly overlapping.
    public func seal(counter: UInt64, plaintext: UnsafeRawBufferPointer, into out: UnsafeMutableRawBufferPointer) -> Int {
        guard let context else { return 0 }
        return context.seal(nonce: ChaCha20Poly1305.nonce(counter), plaintext: plaintext,
                            additionalData: UnsafeRawBufferPointer(start: nil, count: 0), into: out)
    }

    /// Returns the plaintext length, or nil when the packet does not authenticate (then the
    /// plaintext-sized prefix of `out` is zeroed; in place, that is the ciphertext).
    public func open(counter: UInt64, ciphertext: UnsafeRawBufferPointer, into out: UnsafeMutableRawBufferPointer) -> Int? {
        guard let context else { return nil }
        return context.open(nonce: ChaCha20Poly1305.nonce(counter), ciphertext: ciphertext,
                            additionalData: UnsafeRawBufferPointer(start: nil, count: 0), into: out)
    }
}

/// ChaCha20-Poly1305 (RFC 8439) with WireGuard's nonce: 4 zero bytes, then the 64-bit counter
/// little endian (whitepaper §5.4). These one-shot calls set the key up on the stack each
/// time, for handshake messages; transport data goes through a `TransportKey`.
public enum ChaCha20Poly1305 {
    public static let tagByteCount = 16

    /// An RFC 8439 nonce.
    typealias Nonce = FixedBytes<12>

    /// Writes ciphertext ‖ tag into `out` (`out.count >= plaintext.count + 16`; `out` may start
    /// at `plaintext`'s address, in place) and returns `plaintext.count + 16`. Returns 0, and
    /// writes nothing useful, if `out` is too small or overlaps `plaintext` other than exactly.
    public static func seal(key: Bytes32, counter: UInt64, plaintext: UnsafeRawBufferPointer,
                            additionalData: UnsafeRawBufferPointer, into out: UnsafeMutableRawBufferPointer) -> Int {
        seal(key: key, nonce: nonce(counter), plaintext: plaintext, additionalData: additionalData, into: out)
    }

    /// Returns the plaintext length, or nil when the tag does not verify (out then holds
    /// nothing useful: BoringSSL zeroes it). `out` needs `ciphertext.count - 16` bytes and may
    /// start at `ciphertext`'s address (in place).
    public static func open(key: Bytes32, counter: UInt64, ciphertext: UnsafeRawBufferPointer,
                            additionalData: UnsafeRawBufferPointer, into out: UnsafeMutableRawBufferPointer) -> Int? {
        open(key: key, nonce: nonce(counter), ciphertext: ciphertext, additionalData: additionalData, into: out)
    }

    /// The RFC 8439 AEAD with any 12-byte nonce (the published vectors use other shapes).
    static func seal(key: Bytes32, nonce: Nonce, plaintext: UnsafeRawBufferPointer,
                     additionalData: UnsafeRawBufferPointer, into out: UnsafeMutableRawBufferPointer) -> Int {
        ChaChaPolyContext.withTemporary(key: key, failure: 0) {
            $0.seal(nonce: nonce, plaintext: plaintext, additionalData: additionalData, into: out)
        }
    }

    static func open(key: Bytes32, nonce: Nonce, ciphertext: UnsafeRawBufferPointer,
                     additionalData: UnsafeRawBufferPointer, into out: UnsafeMutableRawBufferPointer) -> Int? {
        ChaChaPolyContext.withTemporary(key: key, failure: nil) {
            $0.open(nonce: nonce, ciphertext: ciphertext, additionalData: additionalData, into: out)
        }
    }

    /// 4 zero bytes ‖ counter as 64-bit little endian.
    @inline(__always)
    static func nonce(_ counter: UInt64) -> Nonce {
        var nonce = Nonce()
        nonce.withUnsafeMutableBytes { $0.storeBytes(of: counter.littleEndian, toByteOffset: 4, as: UInt64.self) }
        return nonce
    }
}

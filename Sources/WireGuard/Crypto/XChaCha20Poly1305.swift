/// XChaCha20-Poly1305 (draft-irtf-cfrg-xchacha-03 §2.3), for cookie replies (whitepaper
/// §5.4.7): HChaCha20 of the key and nonce[0..<16] gives a subkey, used with ChaCha20-Poly1305
/// and the nonce 4 zero bytes ‖ nonce[16..<24].
public enum XChaCha20Poly1305 {
    /// Same contract as `ChaCha20Poly1305.seal`.
    public static func seal(key: Bytes32, nonce: Bytes24, plaintext: UnsafeRawBufferPointer,
                            additionalData: UnsafeRawBufferPointer, into out: UnsafeMutableRawBufferPointer) -> Int {
        var (subkey, counter) = derive(key: key, nonce: nonce)
        defer { subkey.zeroize() }
        return ChaCha20Poly1305.seal(key: subkey, counter: counter, plaintext: plaintext,
                                     additionalData: additionalData, into: out)
    }

    /// Same contract as `ChaCha20Poly1305.open`.
    public static func open(key: Bytes32, nonce: Bytes24, ciphertext: UnsafeRawBufferPointer,
                            additionalData: UnsafeRawBufferPointer, into out: UnsafeMutableRawBufferPointer) -> Int? {
        var (subkey, counter) = derive(key: key, nonce: nonce)
        defer { subkey.zeroize() }
        return ChaCha20Poly1305.open(key: subkey, counter: counter, ciphertext: ciphertext,
                                     additionalData: additionalData, into: out)
    }

    /// The subkey, and the counter whose little-endian bytes are nonce[16..<24].
    private static func derive(key: Bytes32, nonce: Bytes24) -> (subkey: Bytes32, counter: UInt64) {
        nonce.withUnsafeBytes { n in
            let prefix = Bytes16 { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: n[..<16])) }
            let counter = UInt64(littleEndian: n.loadUnaligned(fromByteOffset: 16, as: UInt64.self))
            return (HChaCha20.subkey(key: key, nonce: prefix), counter)
        }
    }
}

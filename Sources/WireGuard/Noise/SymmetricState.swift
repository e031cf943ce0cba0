/// Noise's running chaining key and hash (whitepaper §5.4: C and H), with the mixing
/// operations the handshake is written in.
struct SymmetricState {
    var chainingKey: Bytes32
    var hash: Bytes32

    /// C₀ = HASH(construction), H₀ = HASH(C₀ ‖ identifier): the same for every handshake.
    static let initialChainingKey = BLAKE2s.hash(WireGuardConstants.construction)
    static let initialHash = BLAKE2s.hash(initialChainingKey, WireGuardConstants.identifier)

    /// The state both sides start from: H = HASH(H₀ ‖ responder's static public key).
    init(responderStatic: PublicKey) {
        chainingKey = Self.initialChainingKey
        hash = BLAKE2s.hash(Self.initialHash, responderStatic.rawValue)
    }

    mutating func mixHash(_ data: some ReadableBytes) {
        hash = BLAKE2s.hash(hash, data)
    }

    /// C = KDF1(C, input).
    mutating func mixKey(_ input: some ReadableBytes) {
        chainingKey = KDF.kdf1(chainingKey: chainingKey, input: input)
    }

    /// (C, k) = KDF2(C, input); returns k.
    mutating func mixKeyForCipher(_ input: some ReadableBytes) -> Bytes32 {
        let (c, k) = KDF.kdf2(chainingKey: chainingKey, input: input)
        chainingKey = c
        return k
    }

    /// (C, τ, k) = KDF3(C, Q); H = HASH(H ‖ τ); returns k. Q is the preshared key or zeros.
    mutating func mixPresharedKey(_ psk: Bytes32) -> Bytes32 {
        let (c, tau, k) = KDF.kdf3(chainingKey: chainingKey, input: psk)
        chainingKey = c
        mixHash(tau)
        return k
    }

    /// AEAD(k, 0, plaintext, H) into `out`, then H = HASH(H ‖ ciphertext).
    mutating func encryptAndHash<let N: Int>(key: Bytes32, _ plaintext: some ReadableBytes) -> FixedBytes<N> {
        let h = hash
        let ciphertext = FixedBytes<N>(filling: { out in
            plaintext.withUnsafeBytes { p in
                h.withUnsafeBytes { ad in
                    _ = ChaCha20Poly1305.seal(key: key, counter: 0, plaintext: p, additionalData: ad, into: out)
                }
            }
        })
        mixHash(ciphertext)
        return ciphertext
    }

    /// Opens AEAD(k, 0, ·, H) into `out`, then H = HASH(H ‖ ciphertext). False when the tag
    /// does not verify (the state must then be discarded by the caller).
    mutating func decryptAndHash<let N: Int>(key: Bytes32, _ ciphertext: FixedBytes<N>, into out: UnsafeMutableRawBufferPointer) -> Bool {
        let h = hash
        let ok = ciphertext.withUnsafeBytes { c in
            h.withUnsafeBytes { ad in
                ChaCha20Poly1305.open(key: key, counter: 0, ciphertext: c, additionalData: ad, into: out) != nil
            }
        }
        guard ok else { return false }
        mixHash(ciphertext)
        return true
    }
}

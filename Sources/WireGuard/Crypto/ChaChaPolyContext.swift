// ChaCha20-Poly1305 through BoringSSL's EVP_AEAD interface, which swift-crypto bundles as
// CCryptoBoringSSL. This file and X25519.swift are the only users of CCryptoBoringSSL.
//
// Why not swift-crypto's public `ChaChaPoly`: its `seal` returns a `SealedBox` holding a fresh
// `Data` and its `open` allocates the plaintext, once per call. The transport path seals and
// opens millions of packets, in place, in buffers the caller owns. EVP_AEAD_CTX_seal/open do
// exactly that, with BoringSSL's assembly ChaCha20-Poly1305, and allocate nothing.
//
// Thread safety: EVP_AEAD_CTX_seal and EVP_AEAD_CTX_open take the context as `const`, and
// BoringSSL documents (aead.h) that they "may be called concurrently with itself or any other
// seal/open function on the same EVP_AEAD_CTX". For ChaCha20-Poly1305 the context holds only
// the 32-byte key, which they read. So one context may serve many threads once set up.

import CCryptoBoringSSL

/// A ChaCha20-Poly1305 key set up in a BoringSSL context at an address that does not move.
/// Read-only after setup, so concurrent `seal`/`open` calls on it are safe.
struct ChaChaPolyContext {
    static let tagByteCount = 16

    private let context: UnsafeMutablePointer<EVP_AEAD_CTX>

    /// A context on the heap, for a key used many times. Call `destroy()` exactly once.
    static func make(key: Bytes32) -> ChaChaPolyContext? {
        let context = UnsafeMutablePointer<EVP_AEAD_CTX>.allocate(capacity: 1)
        guard setUp(context, key: key) else {
            tearDown(context)
            context.deallocate()
            return nil
        }
        return ChaChaPolyContext(context: context)
    }

    /// Cleans up, wipes the key material and frees the context.
    func destroy() {
        Self.tearDown(context)
        context.deallocate()
    }

    /// A context on the stack for one call; wiped before this returns. `failure` is returned
    /// if BoringSSL refuses the key (it does not for 32 bytes).
    static func withTemporary<R>(key: Bytes32, failure: R, _ body: (ChaChaPolyContext) -> R) -> R {
        var storage = EVP_AEAD_CTX()
        return withUnsafeMutablePointer(to: &storage) { context in
            defer { tearDown(context) }
            guard setUp(context, key: key) else { return failure }
            return body(ChaChaPolyContext(context: context))
        }
    }

    /// RFC 8439 AEAD_CHACHA20_POLY1305. Writes ciphertext ‖ tag and returns its length, or
    /// returns 0 (writing nothing useful) when `out` is too small or overlaps `plaintext`
    /// other than exactly in place.
    func seal(nonce: ChaCha20Poly1305.Nonce, plaintext: UnsafeRawBufferPointer,
              additionalData: UnsafeRawBufferPointer, into out: UnsafeMutableRawBufferPointer) -> Int {
        let tag = Self.tagByteCount
        guard out.count >= tag, plaintext.count <= out.count - tag, let outBase = out.baseAddress else { return 0 }
        let sealedCount = plaintext.count + tag
        let ok = run(CCryptoBoringSSL_EVP_AEAD_CTX_seal, nonce: nonce, input: plaintext,
                     additionalData: additionalData, output: outBase, expectedCount: sealedCount)
        return ok ? sealedCount : 0
    }

    /// Returns the plaintext length, or nil when the tag does not verify, the ciphertext is
    /// shorter than a tag, or `out` is too small or overlaps other than exactly in place.
    /// When the tag does not verify, BoringSSL zeroes the first `ciphertext.count - 16` bytes
    /// of `out` (it decrypts while it authenticates).
    func open(nonce: ChaCha20Poly1305.Nonce, ciphertext: UnsafeRawBufferPointer,
              additionalData: UnsafeRawBufferPointer, into out: UnsafeMutableRawBufferPointer) -> Int? {
        guard ciphertext.count >= Self.tagByteCount else { return nil }
        let plaintextCount = ciphertext.count - Self.tagByteCount
        guard out.count >= plaintextCount else { return nil }
        guard let outBase = out.baseAddress else {
            // An empty plaintext into an empty buffer: give BoringSSL a real address anyway.
            return withUnsafeTemporaryAllocation(byteCount: 1, alignment: 1) {
                open(nonce: nonce, ciphertext: ciphertext, additionalData: additionalData, into: $0)
            }
        }
        let ok = run(CCryptoBoringSSL_EVP_AEAD_CTX_open, nonce: nonce, input: ciphertext,
                     additionalData: additionalData, output: outBase, expectedCount: plaintextCount)
        return ok ? plaintextCount : nil
    }

    /// EVP_AEAD_CTX_seal and EVP_AEAD_CTX_open share one signature: (ctx, out, out_len,
    /// max_out_len, nonce, nonce_len, in, in_len, ad, ad_len) -> 1 on success.
    private typealias AEADFunction = (
        UnsafePointer<EVP_AEAD_CTX>?, UnsafeMutablePointer<UInt8>?, UnsafeMutablePointer<Int>?, Int,
        UnsafePointer<UInt8>?, Int, UnsafePointer<UInt8>?, Int, UnsafePointer<UInt8>?, Int
    ) -> Int32

    @inline(__always)
    private func run(_ function: AEADFunction, nonce: ChaCha20Poly1305.Nonce, input: UnsafeRawBufferPointer,
                     additionalData: UnsafeRawBufferPointer, output: UnsafeMutableRawPointer,
                     expectedCount: Int) -> Bool {
        var written = 0
        let ok = nonce.withUnsafeBytes { n in
            function(context, output.assumingMemoryBound(to: UInt8.self), &written, expectedCount,
                     Self.bytes(n), n.count, Self.bytes(input), input.count,
                     Self.bytes(additionalData), additionalData.count)
        }
        guard ok == 1, written == expectedCount else {
            // Forged or corrupt packets are routine; keep BoringSSL's per-thread error queue clean.
            CCryptoBoringSSL_ERR_clear_error()
            return false
        }
        return true
    }

    private static func setUp(_ context: UnsafeMutablePointer<EVP_AEAD_CTX>, key: Bytes32) -> Bool {
        CCryptoBoringSSL_EVP_AEAD_CTX_zero(context)
        return key.withUnsafeBytes { k in
            CCryptoBoringSSL_EVP_AEAD_CTX_init(
                context, CCryptoBoringSSL_EVP_aead_chacha20_poly1305(), bytes(k), k.count,
                tagByteCount, nil) == 1
        }
    }

    /// EVP_AEAD_CTX_cleanup frees nothing for ChaCha20-Poly1305, so the key is wiped here,
    /// with a write the compiler may not drop.
    private static func tearDown(_ context: UnsafeMutablePointer<EVP_AEAD_CTX>) {
        CCryptoBoringSSL_EVP_AEAD_CTX_cleanup(context)
        CCryptoBoringSSL_OPENSSL_cleanse(context, MemoryLayout<EVP_AEAD_CTX>.size)
    }

    private static func bytes(_ buffer: UnsafeRawBufferPointer) -> UnsafePointer<UInt8>? {
        buffer.baseAddress?.assumingMemoryBound(to: UInt8.self)
    }
}

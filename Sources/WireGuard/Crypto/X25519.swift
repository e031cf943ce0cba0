// X25519 through BoringSSL (swift-crypto's bundled CCryptoBoringSSL); with
// ChaChaPolyContext.swift, the only users of CCryptoBoringSSL. Called directly rather than
// through swift-crypto's `Curve25519.KeyAgreement` so that keys and shared secrets stay in
// `Bytes32` values, without the `Data` and `SharedSecret` round trips.

import CCryptoBoringSSL

/// X25519 Diffie-Hellman (RFC 7748 §5), WireGuard's DH (whitepaper §5.4).
public enum X25519 {
    /// X25519(key, 9). Any 32 bytes are a usable private key: the scalar is clamped here.
    public static func publicKey(for key: PrivateKey) -> PublicKey {
        let raw = Bytes32 { out in
            key.rawValue.withUnsafeBytes { k in
                CCryptoBoringSSL_X25519_public_from_private(bytes(out), bytes(k))
            }
        }
        return PublicKey(rawValue: raw)
    }

    /// nil when the result is all zeros (a low-order or otherwise bad public key): the caller must abort the handshake.
    public static func sharedSecret(_ key: PrivateKey, _ peer: PublicKey) -> Bytes32? {
        var ok: Int32 = 0
        var secret = Bytes32 { out in
            key.rawValue.withUnsafeBytes { k in
                peer.rawValue.withUnsafeBytes { p in
                    // Returns 0 when the output is all zeros (RFC 7748 §6.1's check).
                    ok = CCryptoBoringSSL_X25519(bytes(out), bytes(k), bytes(p))
                }
            }
        }
        guard ok == 1, !secret.isZero else {
            secret.zeroize()
            return nil
        }
        return secret
    }

    private static func bytes(_ buffer: UnsafeMutableRawBufferPointer) -> UnsafeMutablePointer<UInt8>? {
        buffer.baseAddress?.assumingMemoryBound(to: UInt8.self)
    }

    private static func bytes(_ buffer: UnsafeRawBufferPointer) -> UnsafePointer<UInt8>? {
        buffer.baseAddress?.assumingMemoryBound(to: UInt8.self)
    }
}

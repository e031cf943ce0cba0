/// WireGuard's KDF (whitepaper §5.4), an HKDF-like chain over HMAC-BLAKE2s:
/// τ0 = HMAC(key, input), τ1 = HMAC(τ0, 0x1), τ2 = HMAC(τ0, τ1 ‖ 0x2), τ3 = HMAC(τ0, τ2 ‖ 0x3);
/// KDFn returns τ1...τn. The same as wireguard-go's KDF1/KDF2/KDF3 (device/kdf_test.go).
public enum KDF {
    public static func kdf1(chainingKey: Bytes32, input: some ReadableBytes) -> Bytes32 {
        derive(key: chainingKey, input: input, count: 1).0
    }

    public static func kdf2(chainingKey: Bytes32, input: some ReadableBytes) -> (Bytes32, Bytes32) {
        let t = derive(key: chainingKey, input: input, count: 2)
        return (t.0, t.1)
    }

    public static func kdf3(chainingKey: Bytes32, input: some ReadableBytes) -> (Bytes32, Bytes32, Bytes32) {
        derive(key: chainingKey, input: input, count: 3)
    }

    /// The chain for a key of any length (wireguard-go's take a byte slice, and its test
    /// vectors use short keys); outputs past `count` are left zero and not computed.
    static func derive(key: some ReadableBytes, input: some ReadableBytes, count: Int) -> (Bytes32, Bytes32, Bytes32) {
        var prk = HMACBLAKE2s.authenticate(key: key, input)
        defer { prk.zeroize() }
        let t1 = expand(prk, previous: nil, counter: 1)
        guard count > 1 else { return (t1, .zero, .zero) }
        let t2 = expand(prk, previous: t1, counter: 2)
        guard count > 2 else { return (t1, t2, .zero) }
        return (t1, t2, expand(prk, previous: t2, counter: 3))
    }

    private static func expand(_ prk: Bytes32, previous: Bytes32?, counter: UInt8) -> Bytes32 {
        prk.withUnsafeBytes { key in
            var mac = HMACBLAKE2s.State(key: key)
            previous?.withUnsafeBytes { mac.update($0) }
            withUnsafeBytes(of: counter) { mac.update($0) }
            return mac.finalize()
        }
    }
}

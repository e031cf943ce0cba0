import Testing
@testable import WireGuard

private struct KernelHMAC: Decodable {
    let hmac: [Hex]
}

private struct WireGuardGoKDF: Decodable {
    struct Case: Decodable { let key, input, t0, t1, t2: Hex }
    let tests: [Case]
}

@Suite struct HMACKDFTests {
    /// lib/crypto/blake2s-selftest.c: a 32-byte key, and a 256-byte key (longer than the block, so hashed).
    @Test func linuxHMACSelfTest() throws {
        let v = try Vectors.load("linux-blake2s-selftest.json", as: KernelHMAC.self)
        let buf = (0..<256).map { UInt8($0) }
        #expect(HMACBLAKE2s.authenticate(key: kernelKey, buf).bytes == v.hmac[0].bytes)
        #expect(HMACBLAKE2s.authenticate(key: buf, kernelKey).bytes == v.hmac[1].bytes)
    }

    /// wireguard-go device/kdf_test.go: KDF3, KDF2 and KDF1 agree on the leading outputs.
    @Test func wireguardGoKDF() throws {
        let v = try Vectors.load("wireguard-go-kdf.json", as: WireGuardGoKDF.self)
        #expect(v.tests.count == 3)
        for c in v.tests {
            let three = KDF.derive(key: c.key.bytes, input: c.input.bytes, count: 3)
            #expect([three.0.bytes, three.1.bytes, three.2.bytes] == [c.t0.bytes, c.t1.bytes, c.t2.bytes])
            let two = KDF.derive(key: c.key.bytes, input: c.input.bytes, count: 2)
            #expect([two.0.bytes, two.1.bytes] == [c.t0.bytes, c.t1.bytes])
            #expect(two.2 == .zero)
            #expect(KDF.derive(key: c.key.bytes, input: c.input.bytes, count: 1).0.bytes == c.t0.bytes)
        }
    }

    /// The public entry points take a 32-byte chaining key and are the same chain.
    @Test func publicKDFsMatchTheChain() {
        let chainingKey = BLAKE2s.hash(Array("Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s".utf8))
        let input = (0..<32).map { UInt8($0) }
        let chain = KDF.derive(key: chainingKey, input: input, count: 3)
        #expect(KDF.kdf1(chainingKey: chainingKey, input: input) == chain.0)
        let two = KDF.kdf2(chainingKey: chainingKey, input: input)
        #expect(two.0 == chain.0 && two.1 == chain.1)
        let three = KDF.kdf3(chainingKey: chainingKey, input: input)
        #expect(three.0 == chain.0 && three.1 == chain.1 && three.2 == chain.2)
        #expect(chain.0 != chain.1 && chain.1 != chain.2)
    }
}

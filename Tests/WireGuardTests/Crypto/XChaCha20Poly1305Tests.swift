import Testing
@testable import WireGuard

private struct Draft: Decodable {
    struct HChaCha: Decodable { let key, nonce, subkey: Hex }
    struct AEAD: Decodable { let key, nonce, aad, plaintext, ciphertext, tag: Hex }
    let hchacha20: HChaCha
    let aead: AEAD
}

private func seal(_ key: Bytes32, _ nonce: Bytes24, _ plaintext: [UInt8], _ aad: [UInt8]) -> [UInt8] {
    aad.withUnsafeBytes { a in
        sealed({ XChaCha20Poly1305.seal(key: key, nonce: nonce, plaintext: $0, additionalData: a, into: $1) }, plaintext)
    }
}

private func open(_ key: Bytes32, _ nonce: Bytes24, _ ciphertext: [UInt8], _ aad: [UInt8]) -> [UInt8]? {
    aad.withUnsafeBytes { a in
        opened({ XChaCha20Poly1305.open(key: key, nonce: nonce, ciphertext: $0, additionalData: a, into: $1) }, ciphertext)
    }
}

@Suite struct XChaCha20Poly1305Tests {
    @Test func hchacha20Draft03Section221() throws {
        let v = try Vectors.load("xchacha-draft03.json", as: Draft.self).hchacha20
        let key = try #require(Bytes32(bytes: v.key.bytes))
        let nonce = try #require(Bytes16(bytes: v.nonce.bytes))
        #expect(HChaCha20.subkey(key: key, nonce: nonce).bytes == v.subkey.bytes)
    }

    @Test func draft03AppendixA31() throws {
        let v = try Vectors.load("xchacha-draft03.json", as: Draft.self).aead
        let key = try #require(Bytes32(bytes: v.key.bytes))
        let nonce = try #require(Bytes24(bytes: v.nonce.bytes))
        let expected = v.ciphertext.bytes + v.tag.bytes
        #expect(seal(key, nonce, v.plaintext.bytes, v.aad.bytes) == expected)
        #expect(open(key, nonce, expected, v.aad.bytes) == v.plaintext.bytes)
        #expect(open(key, nonce, expected, []) == nil)
    }

    @Test(arguments: try WycheproofAEADTest.load("xchacha20_poly1305_test.json"))
    func wycheproof(_ c: WycheproofAEADTest) {
        checkWycheproofAEAD(c, nonce: { Bytes24(bytes: $0) }, seal: seal, open: open)
    }

    @Test func wycheproofFileIsComplete() throws {
        let file = try Vectors.load("wycheproof/xchacha20_poly1305_test.json", as: WycheproofFile<WycheproofAEADTest>.self)
        #expect(file.tests.count == file.numberOfTests)
        #expect(file.numberOfTests == 315)
    }
}

import Crypto
import Foundation
import Testing
@testable import WireGuard

private struct RFC8439: Decodable {
    struct Case: Decodable { let name: String; let key, nonce, aad, plaintext, ciphertext, tag: Hex }
    let tests: [Case]
}

/// Seal and open with any 12-byte nonce, on byte arrays.
private func seal(_ key: Bytes32, _ nonce: ChaCha20Poly1305.Nonce, _ plaintext: [UInt8], _ aad: [UInt8]) -> [UInt8] {
    aad.withUnsafeBytes { a in
        sealed({ ChaCha20Poly1305.seal(key: key, nonce: nonce, plaintext: $0, additionalData: a, into: $1) }, plaintext)
    }
}

private func open(_ key: Bytes32, _ nonce: ChaCha20Poly1305.Nonce, _ ciphertext: [UInt8], _ aad: [UInt8]) -> [UInt8]? {
    aad.withUnsafeBytes { a in
        opened({ ChaCha20Poly1305.open(key: key, nonce: nonce, ciphertext: $0, additionalData: a, into: $1) }, ciphertext)
    }
}

/// WireGuard's counter nonce, if `nonce` has that shape (4 zero bytes first).
private func counter(of nonce: [UInt8]) -> UInt64? {
    guard nonce.count == 12, nonce[..<4].allSatisfy({ $0 == 0 }) else { return nil }
    return nonce[4...].reversed().reduce(0) { $0 << 8 | UInt64($1) }
}

private func randomBytes(_ count: Int, _ rng: inout some RandomNumberGenerator) -> [UInt8] {
    (0..<count).map { _ in UInt8.random(in: 0...255, using: &rng) }
}

/// A small deterministic generator, so a failing differential case can be replayed.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite struct ChaCha20Poly1305Tests {
    @Test func rfc8439() throws {
        let v = try Vectors.load("rfc8439-chacha20poly1305.json", as: RFC8439.self)
        #expect(v.tests.count == 2)
        for c in v.tests {
            let key = try #require(Bytes32(bytes: c.key.bytes))
            let nonce = try #require(ChaCha20Poly1305.Nonce(bytes: c.nonce.bytes))
            let expected = c.ciphertext.bytes + c.tag.bytes
            #expect(seal(key, nonce, c.plaintext.bytes, c.aad.bytes) == expected, "\(c.name)")
            #expect(open(key, nonce, expected, c.aad.bytes) == c.plaintext.bytes, "\(c.name)")
            // A.5's nonce is WireGuard-shaped: the public counter API must give the same.
            if let counter = counter(of: c.nonce.bytes) {
                let viaCounter = c.aad.bytes.withUnsafeBytes { a in
                    sealed({ ChaCha20Poly1305.seal(key: key, counter: counter, plaintext: $0, additionalData: a, into: $1) },
                           c.plaintext.bytes)
                }
                #expect(viaCounter == expected, "\(c.name) through the counter API")
            }
        }
    }

    @Test(arguments: try WycheproofAEADTest.load("chacha20_poly1305_test.json"))
    func wycheproof(_ c: WycheproofAEADTest) {
        checkWycheproofAEAD(c, nonce: { ChaCha20Poly1305.Nonce(bytes: $0) }, seal: seal, open: open)
    }

    @Test func wycheproofFileIsComplete() throws {
        let file = try Vectors.load("wycheproof/chacha20_poly1305_test.json", as: WycheproofFile<WycheproofAEADTest>.self)
        #expect(file.tests.count == file.numberOfTests)
        #expect(file.numberOfTests == 325)
    }

    /// Against swift-crypto's ChaChaPoly on random keys, counters, lengths and additional data,
    /// through the one-shot API and a TransportKey (which has no additional data).
    @Test func differentialAgainstSwiftCrypto() throws {
        var rng = SplitMix64(state: 0x5EED)
        for round in 0..<300 {
            let keyBytes = randomBytes(32, &rng)
            let key = try #require(Bytes32(bytes: keyBytes))
            let counter = round % 3 == 0 ? UInt64.random(in: 0...UInt64.max, using: &rng) : UInt64(round)
            let plaintext = randomBytes(Int.random(in: 0...1500, using: &rng), &rng)
            let aad = randomBytes(round % 2 == 0 ? 0 : Int.random(in: 1...80, using: &rng), &rng)
            let nonceBytes = ChaCha20Poly1305.nonce(counter).bytes

            let box = try ChaChaPoly.seal(plaintext, using: SymmetricKey(data: keyBytes),
                                          nonce: try ChaChaPoly.Nonce(data: nonceBytes), authenticating: aad)
            let reference = [UInt8](box.ciphertext) + [UInt8](box.tag)

            let ours = aad.withUnsafeBytes { a in
                sealed({ ChaCha20Poly1305.seal(key: key, counter: counter, plaintext: $0, additionalData: a, into: $1) }, plaintext)
            }
            #expect(ours == reference, "round \(round)")
            let back = aad.withUnsafeBytes { a in
                opened({ ChaCha20Poly1305.open(key: key, counter: counter, ciphertext: $0, additionalData: a, into: $1) }, reference)
            }
            #expect(back == plaintext, "round \(round)")

            let transport = TransportKey(key)
            let noAAD = try ChaChaPoly.seal(plaintext, using: SymmetricKey(data: keyBytes),
                                            nonce: try ChaChaPoly.Nonce(data: nonceBytes))
            let transportReference = [UInt8](noAAD.ciphertext) + [UInt8](noAAD.tag)
            #expect(sealed({ transport.seal(counter: counter, plaintext: $0, into: $1) }, plaintext) == transportReference)
            #expect(opened({ transport.open(counter: counter, ciphertext: $0, into: $1) }, transportReference) == plaintext)
        }
    }

    @Test func sealAndOpenInPlace() throws {
        let key = try #require(Bytes32(bytes: (0..<32).map { UInt8($0) }))
        let transport = TransportKey(key)
        let plaintext = (0..<1420).map { UInt8(truncatingIfNeeded: $0) }
        let expected = sealed({ transport.seal(counter: 42, plaintext: $0, into: $1) }, plaintext)

        var buffer = plaintext + [UInt8](repeating: 0, count: 16)
        let n = buffer.withUnsafeMutableBytes { b in
            transport.seal(counter: 42, plaintext: UnsafeRawBufferPointer(rebasing: b[..<plaintext.count]), into: b)
        }
        #expect(n == plaintext.count + 16)
        #expect(buffer == expected)
        let m = buffer.withUnsafeMutableBytes { b in
            transport.open(counter: 42, ciphertext: UnsafeRawBufferPointer(b), into: b)
        }
        #expect(m == plaintext.count)
        #expect(Array(buffer[..<plaintext.count]) == plaintext)
    }

    @Test func tamperingWrongCounterAndWrongKeyFail() throws {
        let key = try #require(Bytes32(bytes: [UInt8](repeating: 1, count: 32)))
        let transport = TransportKey(key)
        let ciphertext = sealed({ transport.seal(counter: 7, plaintext: $0, into: $1) }, Array("hello".utf8))
        #expect(opened({ transport.open(counter: 8, ciphertext: $0, into: $1) }, ciphertext) == nil)
        #expect(opened({ TransportKey(.zero).open(counter: 7, ciphertext: $0, into: $1) }, ciphertext) == nil)
        for i in ciphertext.indices {
            var bad = ciphertext
            bad[i] ^= 0x80
            #expect(opened({ transport.open(counter: 7, ciphertext: $0, into: $1) }, bad) == nil, "flipped byte \(i)")
        }
        // A keepalive: empty plaintext, 16 bytes of tag.
        let keepalive = sealed({ transport.seal(counter: 9, plaintext: $0, into: $1) }, [])
        #expect(keepalive.count == 16)
        #expect(opened({ transport.open(counter: 9, ciphertext: $0, into: $1) }, keepalive) == [])
    }

    /// Misuse returns 0 or nil; nothing traps.
    @Test func badBuffersFailWithoutTrapping() throws {
        let key = try #require(Bytes32(bytes: [UInt8](repeating: 2, count: 32)))
        let transport = TransportKey(key)
        var small = [UInt8](repeating: 0, count: 20)
        let plaintext = [UInt8](repeating: 3, count: 5)
        #expect(plaintext.withUnsafeBytes { p in small.withUnsafeMutableBytes { transport.seal(counter: 0, plaintext: p, into: $0) } } == 0)
        #expect(plaintext.withUnsafeBytes { p in
            small.withUnsafeMutableBytes { ChaCha20Poly1305.seal(key: key, counter: 0, plaintext: p, additionalData: UnsafeRawBufferPointer(start: nil, count: 0), into: $0) }
        } == 0)
        // Shorter than a tag.
        #expect(opened({ transport.open(counter: 0, ciphertext: $0, into: $1) }, [1, 2, 3]) == nil)
        // Output too small for the plaintext.
        let ciphertext = sealed({ transport.seal(counter: 0, plaintext: $0, into: $1) }, [UInt8](repeating: 4, count: 40))
        var tiny = [UInt8](repeating: 0, count: 10)
        #expect(ciphertext.withUnsafeBytes { c in tiny.withUnsafeMutableBytes { transport.open(counter: 0, ciphertext: c, into: $0) } } == nil)
        // Overlapping, but not exactly in place.
        var buffer = [UInt8](repeating: 5, count: 100)
        let shifted = buffer.withUnsafeMutableBytes { b in
            transport.seal(counter: 0, plaintext: UnsafeRawBufferPointer(rebasing: b[0..<50]),
                           into: UnsafeMutableRawBufferPointer(rebasing: b[1...]))
        }
        #expect(shifted == 0)
    }

    /// One TransportKey sealing and opening from many tasks at once gives what it gives alone.
    @Test func transportKeyIsSafeToShareAcrossThreads() async throws {
        let key = try #require(Bytes32(bytes: (0..<32).map { UInt8(255 - $0) }))
        let transport = TransportKey(key)
        let plaintext = (0..<1280).map { UInt8(truncatingIfNeeded: $0 * 31) }
        let expected = (0..<64).map { counter in
            sealed({ transport.seal(counter: UInt64(counter), plaintext: $0, into: $1) }, plaintext)
        }
        let mismatches = await withTaskGroup(of: Int.self) { group in
            for worker in 0..<8 {
                group.addTask {
                    var bad = 0
                    for i in 0..<400 {
                        let counter = (i * 7 + worker) % 64
                        let out = sealed({ transport.seal(counter: UInt64(counter), plaintext: $0, into: $1) }, plaintext)
                        if out != expected[counter] { bad += 1 }
                        if opened({ transport.open(counter: UInt64(counter), ciphertext: $0, into: $1) }, out) != plaintext { bad += 1 }
                    }
                    return bad
                }
            }
            return await group.reduce(0, +)
        }
        #expect(mismatches == 0)
    }
}

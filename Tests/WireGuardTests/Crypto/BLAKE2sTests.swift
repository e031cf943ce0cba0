import Testing
@testable import WireGuard

private struct RFC7693: Decodable {
    struct ABC: Decodable { let input, hash: Hex }
    struct SelfTest: Decodable {
        let outputLengths, inputLengths: [Int]
        let grandHash: Hex
    }
    let abc: ABC
    let selfTest: SelfTest
}

private struct KernelSelfTest: Decodable {
    let hashes: [Hex]
    let hmac: [Hex]
}

/// BLAKE2s with `outputByteCount` bytes of output, keyed when `key` is not empty, fed in one call.
private func blake2s(_ data: [UInt8], outputByteCount: Int = 32, key: [UInt8] = []) -> [UInt8] {
    var state = key.withUnsafeBytes { BLAKE2s(outputByteCount: outputByteCount, key: $0) }
    state.update(data)
    var out = [UInt8](repeating: 0, count: outputByteCount)
    out.withUnsafeMutableBytes { state.finalize(into: $0) }
    return out
}

/// RFC 7693 Appendix E's selftest_seq: a Fibonacci-like byte sequence.
private func selfTestSequence(_ count: Int, seed: UInt32) -> [UInt8] {
    var a = 0xDEAD_4BAD &* seed
    var b: UInt32 = 1
    return (0..<count).map { _ in
        let t = a &+ b
        a = b
        b = t
        return UInt8(t >> 24)
    }
}

/// The Linux self-test's key: 1, 1, then each byte the sum of the two before.
let kernelKey: [UInt8] = {
    var key: [UInt8] = [1, 1]
    for i in 2..<32 { key.append(key[i - 2] &+ key[i - 1]) }
    return key
}()

@Suite struct BLAKE2sTests {
    @Test func rfc7693AppendixC() throws {
        let v = try Vectors.load("rfc7693-blake2s.json", as: RFC7693.self)
        #expect(BLAKE2s.hash(v.abc.input.bytes).bytes == v.abc.hash.bytes)
    }

    @Test func rfc7693AppendixESelfTest() throws {
        let v = try Vectors.load("rfc7693-blake2s.json", as: RFC7693.self).selfTest
        var grand = BLAKE2s()
        for outlen in v.outputLengths {
            for inlen in v.inputLengths {
                let input = selfTestSequence(inlen, seed: UInt32(inlen))
                grand.update(blake2s(input, outputByteCount: outlen))
                let key = selfTestSequence(outlen, seed: UInt32(outlen))
                grand.update(blake2s(input, outputByteCount: outlen, key: key))
            }
        }
        #expect(Bytes32 { grand.finalize(into: $0) }.bytes == v.grandHash.bytes)
    }

    /// lib/crypto/blake2s-selftest.c: one-shot, and split in two updates at the kernel's points.
    @Test func linuxSelfTest() throws {
        let v = try Vectors.load("linux-blake2s-selftest.json", as: KernelSelfTest.self)
        try #require(v.hashes.count == 256)
        let buf = (0..<256).map { UInt8($0) }
        var l = 0
        for i in 0..<v.hashes.count {
            let outlen = 1 + i % 32
            let key = Array(kernelKey.suffix((13 * i) % 33))
            let expected = v.hashes[i].bytes
            #expect(blake2s(Array(buf[..<i]), outputByteCount: outlen, key: key) == expected, "vector \(i)")

            var state = key.withUnsafeBytes { BLAKE2s(outputByteCount: outlen, key: $0) }
            state.update(buf[..<l])
            state.update(buf[l..<i])
            var out = [UInt8](repeating: 0, count: outlen)
            out.withUnsafeMutableBytes { state.finalize(into: $0) }
            #expect(out == expected, "vector \(i) split at \(l)")
            l = (l + 37) % (i + 1)
        }
    }

    /// Every split of a 3-block message into three updates gives the one-shot hash.
    @Test func incrementalUpdatesMatchOneShot() {
        let message = (0..<200).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 3) }
        let expected = BLAKE2s.hash(message)
        for a in stride(from: 0, through: message.count, by: 5) {
            for b in stride(from: a, through: message.count, by: 11) {
                var state = BLAKE2s()
                state.update(message[..<a])
                state.update(message[a..<b])
                state.update(message[b...])
                #expect(Bytes32 { state.finalize(into: $0) } == expected, "split \(a), \(b)")
            }
        }
    }

    @Test func twoPartHashIsHashOfConcatenation() {
        let a = (0..<70).map { UInt8($0) }, b = (0..<33).map { UInt8(255 - $0) }
        #expect(BLAKE2s.hash(a, b) == BLAKE2s.hash(a + b))
    }

    /// WireGuard's MAC is keyed BLAKE2s with a 16-byte output, not a truncated 32-byte one.
    @Test func macIsKeyedSixteenByteBLAKE2s() {
        let key = (0..<32).map { UInt8($0) }, data = Array("mac1 input".utf8)
        let mac = BLAKE2s.mac(key: key, data)
        #expect(mac.bytes == blake2s(data, outputByteCount: 16, key: key))
        #expect(mac.bytes != Array(blake2s(data, key: key).prefix(16)))
    }

    /// Out-of-range parameters are clamped, not trapped on.
    @Test func outOfRangeParametersDoNotTrap() {
        #expect(BLAKE2s(outputByteCount: 0).outputByteCount == 1)
        #expect(BLAKE2s(outputByteCount: 1000).outputByteCount == 32)
        let longKey = [UInt8](repeating: 7, count: 40)
        #expect(blake2s([1, 2, 3], key: longKey) == blake2s([1, 2, 3], key: Array(longKey.prefix(32))))
        var state = BLAKE2s()
        state.update([1, 2, 3])
        var short = [UInt8](repeating: 0, count: 4)
        short.withUnsafeMutableBytes { state.finalize(into: $0) }
        #expect(short == Array(blake2s([1, 2, 3]).prefix(4)))
    }
}

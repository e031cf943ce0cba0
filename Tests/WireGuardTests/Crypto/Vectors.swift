import Foundation
import Testing
@testable import WireGuard

/// The one loader for the files under Tests/WireGuardTests/Vectors (sources in the README there).
enum Vectors {
    struct Missing: Error, CustomStringConvertible {
        let path: String
        var description: String { "vector file \(path) is not in the test bundle" }
    }

    static func load<T: Decodable>(_ path: String, as type: T.Type = T.self) throws -> T {
        guard let directory = Bundle.module.url(forResource: "Vectors", withExtension: nil) else {
            throw Missing(path: path)
        }
        let data = try Data(contentsOf: directory.appendingPathComponent(path))
        return try JSONDecoder().decode(T.self, from: data)
    }
}

/// Bytes spelled as hex in a vector file.
struct Hex: Decodable, Sendable, Equatable, CustomStringConvertible {
    let bytes: [UInt8]

    init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let bytes = [UInt8](hex: text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not hex: \(text)"))
        }
        self.bytes = bytes
    }

    var description: String { bytes.hex }
}

extension Array where Element == UInt8 {
    init?(hex: String) {
        let digits = Array(hex.utf8)
        guard digits.count % 2 == 0 else { return nil }
        var bytes = [UInt8]()
        bytes.reserveCapacity(digits.count / 2)
        var i = 0
        while i < digits.count {
            guard let hi = HexKey.nibble(digits[i]), let lo = HexKey.nibble(digits[i + 1]) else { return nil }
            bytes.append(hi << 4 | lo)
            i += 2
        }
        self = bytes
    }

    var hex: String { map { String(format: "%02x", $0) }.joined() }
}

// MARK: Wycheproof (schema v1)

struct WycheproofFile<Test: Decodable & Sendable>: Decodable, Sendable {
    struct Group: Decodable, Sendable {
        let tests: [Test]
    }

    let algorithm: String
    let numberOfTests: Int
    let testGroups: [Group]

    var tests: [Test] { testGroups.flatMap(\.tests) }
}

enum WycheproofResult: String, Decodable, Sendable {
    case valid, invalid, acceptable
}

/// aead_test_schema_v1.json
struct WycheproofAEADTest: Decodable, Sendable, CustomTestStringConvertible {
    let tcId: Int
    let comment: String
    let flags: [String]
    let key, iv, aad, msg, ct, tag: Hex
    let result: WycheproofResult

    var testDescription: String { "tcId \(tcId) \(result) \(flags)" }

    static func load(_ file: String) throws -> [WycheproofAEADTest] {
        try Vectors.load("wycheproof/\(file)", as: WycheproofFile<WycheproofAEADTest>.self).tests
    }
}

/// xdh_comp_schema_v1.json
struct WycheproofXDHTest: Decodable, Sendable, CustomTestStringConvertible {
    let tcId: Int
    let comment: String
    let flags: [String]
    let `public`, `private`, shared: Hex
    let result: WycheproofResult

    var testDescription: String { "tcId \(tcId) \(result) \(flags)" }
}

/// One Wycheproof AEAD case against a seal/open pair: valid cases seal to the given ciphertext
/// and open; invalid ones (tampered tags, edge cases, wrong sizes) must not open. Cases whose
/// key or nonce size our API cannot express (`nonce` gives nil) must be invalid ones.
func checkWycheproofAEAD<Nonce>(
    _ c: WycheproofAEADTest, nonce makeNonce: ([UInt8]) -> Nonce?,
    seal: (Bytes32, Nonce, [UInt8], [UInt8]) -> [UInt8],
    open: (Bytes32, Nonce, [UInt8], [UInt8]) -> [UInt8]?
) {
    guard let key = Bytes32(bytes: c.key.bytes), let nonce = makeNonce(c.iv.bytes) else {
        #expect(c.result == .invalid)
        return
    }
    let ciphertext = c.ct.bytes + c.tag.bytes
    switch c.result {
    case .valid, .acceptable:
        #expect(seal(key, nonce, c.msg.bytes, c.aad.bytes) == ciphertext)
        #expect(open(key, nonce, ciphertext, c.aad.bytes) == c.msg.bytes)
    case .invalid:
        #expect(open(key, nonce, ciphertext, c.aad.bytes) == nil)
    }
}

// MARK: Byte-array conveniences for the tests

func sealed(_ seal: (UnsafeRawBufferPointer, UnsafeMutableRawBufferPointer) -> Int, _ plaintext: [UInt8]) -> [UInt8] {
    var out = [UInt8](repeating: 0, count: plaintext.count + ChaCha20Poly1305.tagByteCount)
    let n = plaintext.withUnsafeBytes { p in out.withUnsafeMutableBytes { seal(p, $0) } }
    return Array(out[..<n])
}

func opened(_ open: (UnsafeRawBufferPointer, UnsafeMutableRawBufferPointer) -> Int?, _ ciphertext: [UInt8]) -> [UInt8]? {
    var out = [UInt8](repeating: 0, count: Swift.max(ciphertext.count - ChaCha20Poly1305.tagByteCount, 0))
    guard let n = ciphertext.withUnsafeBytes({ c in out.withUnsafeMutableBytes { open(c, $0) } }) else { return nil }
    return Array(out[..<n])
}

import Foundation
import Testing

/// Reads the data files in Vectors/ (see Vectors/README.md for their sources).
enum Vectors {
    /// The file's lines without comments and blank lines.
    static func lines(_ name: String) throws -> [Substring] {
        let url = try #require(
            Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Vectors"),
            "missing vector file \(name)")
        let text = try String(contentsOf: url, encoding: .utf8)
        return text.split(separator: "\n").filter { !$0.hasPrefix("#") && !$0.trimmingCharacters(in: .whitespaces).isEmpty }
    }

    /// A table with one line per version 1…40: the version and the line's other integers.
    static func perVersion(_ name: String) throws -> [(version: Int, values: [Int])] {
        let rows = try lines(name).map(integers)
        #expect(rows.map { $0.first } == (1...40).map { $0 }, "\(name) has one line per version")
        return rows.map { ($0.first ?? 0, Array($0.dropFirst())) }
    }

    /// Whitespace-separated integers of a line.
    static func integers(_ line: Substring) -> [Int] {
        line.split(whereSeparator: { $0 == " " || $0 == ":" }).compactMap { Int($0) }
    }
}

extension Array where Element == UInt8 {
    init?(hex: some StringProtocol) {
        let digits = Array(hex.utf8)
        guard digits.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        for i in stride(from: 0, to: digits.count, by: 2) {
            guard let byte = UInt8(String(decoding: digits[i..<(i + 2)], as: UTF8.self), radix: 16) else { return nil }
            bytes.append(byte)
        }
        self = bytes
    }
}

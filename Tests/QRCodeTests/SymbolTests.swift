import Testing
@testable import QRCode

/// A whole symbol made by segno, an independent encoder (Vectors/reference-symbols.txt).
struct ReferenceSymbol: CustomTestStringConvertible, Sendable {
    let name: String
    let data: [UInt8]
    let correction: ErrorCorrection
    let version: Int
    let mask: Int
    let penalty: [Int]
    let rows: [[Bool]]

    var testDescription: String { name }

    static func all() throws -> [ReferenceSymbol] {
        let levels: [Substring: ErrorCorrection] = ["L": .low, "M": .medium, "Q": .quartile, "H": .high]
        var symbols: [ReferenceSymbol] = []
        var fields: [Substring: Substring] = [:]
        var rows: [[Bool]] = []
        for line in try Vectors.lines("reference-symbols.txt") {
            let parts = line.split(separator: " ", maxSplits: 1)
            if parts.count == 2 {
                fields[parts[0]] = parts[1]
            } else if line == "end" {
                let version = try #require(fields["version"].flatMap { Int($0) })
                symbols.append(ReferenceSymbol(
                    name: String(fields["case"] ?? "?"),
                    data: try #require(fields["data"].flatMap { [UInt8](hex: $0) }),
                    correction: try #require(fields["correction"].flatMap { levels[$0] }),
                    version: version,
                    mask: try #require(fields["mask"].flatMap { Int($0) }),
                    penalty: try #require(fields["penalty"]).split(separator: " ").compactMap { Int($0) },
                    rows: rows.map { Array($0.prefix(17 + 4 * version)) }))
                fields = [:]
                rows = []
            } else {
                let bytes = try #require([UInt8](hex: line))
                rows.append(bytes.flatMap { byte in (0..<8).map { byte & (0x80 >> $0) != 0 } })
            }
        }
        return symbols
    }
}

@Suite struct SymbolTests {
    @Test(arguments: try ReferenceSymbol.all())
    func matchesIndependentEncoderModuleForModule(_ reference: ReferenceSymbol) throws {
        let qr = try QRCode.encode(reference.data, correction: reference.correction, boostCorrection: false, mask: reference.mask)
        #expect(qr.version == reference.version)
        #expect(qr.mask == reference.mask)
        #expect(qr.size == reference.rows.count)
        var differing: [String] = []
        for (y, row) in reference.rows.enumerated() {
            for (x, dark) in row.enumerated() where qr[x, y] != dark {
                differing.append("(\(x),\(y))")
            }
        }
        #expect(differing.isEmpty, "modules that differ: \(differing.prefix(20).joined(separator: " "))")
        let penalty = Penalty(qr.grid)
        #expect([penalty.runs, penalty.blocks, penalty.finderLike, penalty.balance] == reference.penalty)
    }

    @Test(arguments: ["HELLO WORLD", "", "x", String(repeating: "wg-quick ", count: 40)])
    func choosesTheFirstMaskWithTheLowestPenalty(_ text: String) throws {
        let bytes = Array(text.utf8)
        let chosen = try QRCode.encode(bytes)
        let penalties = try (0..<8).map {
            Penalty(try QRCode.encode(bytes, correction: .low, boostCorrection: true, mask: $0).grid).total
        }
        let lowest = try #require(penalties.min())
        #expect(chosen.mask == penalties.firstIndex(of: lowest))
    }

    @Test func penaltyRulesOnHandMadeGrids() throws {
        // All light: every row and column one run of 21 (19 points each), 400 blocks,
        // no finder-like pattern, 0 % dark (50 % off: k = 10).
        let light = ModuleGrid(size: 21)
        let penalty = Penalty(light)
        #expect(penalty.runs == 42 * 19)
        #expect(penalty.blocks == 400 * 3)
        #expect(penalty.finderLike == 0)
        #expect(penalty.balance == 100)

        #expect(Penalty.runPoints([true, true, true, true, false, false, false, false, false]) == 3)
        #expect(Penalty.runPoints([true, true, true, true, true, true, true, false]) == 5)
        let finder: [Bool] = [true, false, true, true, true, false, true]
        let gap = [Bool](repeating: false, count: 4)
        #expect(Penalty.finderLikePoints(finder) == 40) // the edges count as light
        #expect(Penalty.finderLikePoints([true] + finder + [true]) == 0)
        #expect(Penalty.finderLikePoints([true] + finder + gap) == 40)
        #expect(Penalty.finderLikePoints([true] + gap + finder + gap + [true]) == 40)
        #expect(Penalty.finderLikePoints([true] + [false, false, false] + finder + [false, false, false] + [true]) == 0)
    }

    @Test func versionIsTheSmallestThatHolds() {
        for level in ErrorCorrection.allCases {
            for version in SymbolVersion.all {
                let capacity = version.byteCapacity(level)
                #expect(SymbolVersion.smallest(holding: capacity, level) == version)
                if version.number < 40 {
                    #expect(SymbolVersion.smallest(holding: capacity + 1, level)?.number == version.number + 1)
                }
            }
        }
    }

    @Test(arguments: ErrorCorrection.allCases)
    func tooLongIsATypedError(_ level: ErrorCorrection) throws {
        let maximum = QRCode.maximumByteCount(correction: level)
        let largest = try QRCode.encode([UInt8](repeating: 0x41, count: maximum), correction: level)
        #expect(largest.version == 40 && largest.size == 177 && largest.correction == level)
        #expect(throws: QRCodeError.dataTooLong(byteCount: maximum + 1, maximum: maximum, correction: level)) {
            try QRCode.encode([UInt8](repeating: 0x41, count: maximum + 1), correction: level)
        }
        #expect(throws: QRCodeError.dataTooLong(byteCount: 100_000, maximum: maximum, correction: level)) {
            try QRCode.encode([UInt8](repeating: 0, count: 100_000), correction: level)
        }
    }

    @Test func boostingRaisesTheLevelWithinTheSameVersion() throws {
        // 11 bytes: version 1 holds 17 at L, 14 at M, 11 at Q, 7 at H.
        let boosted = try QRCode.encode("HELLO WORLD")
        #expect(boosted.version == 1 && boosted.correction == .quartile)
        let plain = try QRCode.encode("HELLO WORLD", correction: .low, boostCorrection: false)
        #expect(plain.version == 1 && plain.correction == .low)
        let medium = try QRCode.encode(Array("HELLO WORLD".utf8), correction: .medium, boostCorrection: false)
        #expect(medium.correction == .medium)
    }

    @Test func subscriptOutsideTheSymbolIsLight() throws {
        let qr = try QRCode.encode("ferry")
        #expect(qr[0, 0] && qr[qr.size - 1, 0] && qr[0, qr.size - 1]) // finder corners
        #expect(!qr[-1, 0] && !qr[0, -1] && !qr[qr.size, 0] && !qr[0, qr.size] && !qr[Int.min, Int.max])
        #expect(qr[8, qr.size - 8]) // the dark module
    }
}

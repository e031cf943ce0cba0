/// A symbol version, 1 to 40, and the numbers ISO/IEC 18004 derives from it.
struct SymbolVersion: Hashable, Sendable {
    static let all = (1...40).map(SymbolVersion.init(unchecked:))
    static let largest = SymbolVersion(unchecked: 40)

    let number: Int

    private init(unchecked number: Int) { self.number = number }

    init?(_ number: Int) {
        guard (1...40).contains(number) else { return nil }
        self.number = number
    }

    /// Modules on a side (§5.3.1).
    var size: Int { 17 + 4 * number }

    /// Length of the character count indicator in byte mode (Table 3).
    var byteCountBits: Int { number <= 9 ? 8 : 16 }

    /// Row and column coordinates of the alignment pattern centres (Annex E): evenly spaced
    /// from the far edge back towards column 6, the step rounded up to an even number, the
    /// first gap taking what is left. Version 32 is the standard's one exception.
    var alignmentCenters: [Int] {
        guard number >= 2 else { return [] }
        let count = number / 7 + 2
        let last = size - 7
        let gaps = count - 1
        let step = number == 32 ? 26 : (last - 6 + 2 * gaps - 1) / (2 * gaps) * 2
        return [6] + (0..<gaps).reversed().map { last - $0 * step }
    }

    /// Modules left for codewords once the function patterns, the format information and the
    /// version information are placed (§7.7.1).
    var dataModules: Int {
        var result = size * size
        result -= 3 * 64 // finder patterns with their separators
        result -= 2 * 15 + 1 // two copies of the format information, and the dark module
        result -= 2 * (size - 16) // timing patterns between the separators
        let n = alignmentCenters.count
        if n > 0 {
            // n² - 3 patterns of 25 modules; those on row or column 6 share 5 with a timing pattern.
            result -= 25 * (n * n - 3) - 5 * 2 * (n - 2)
        }
        if number >= 7 { result -= 2 * 18 }
        return result
    }

    /// All codewords, data and error correction (Table 1); the modules beyond are remainder bits.
    var totalCodewords: Int { dataModules / 8 }

    /// Table 9: for each version, at L, M, Q and H, the error-correction codewords in each
    /// block and the number of blocks.
    private static let blockTable: [[(codewordsPerBlock: Int, blockCount: Int)]] = [
        [(7, 1), (10, 1), (13, 1), (17, 1)], // 1
        [(10, 1), (16, 1), (22, 1), (28, 1)], // 2
        [(15, 1), (26, 1), (18, 2), (22, 2)], // 3
        [(20, 1), (18, 2), (26, 2), (16, 4)], // 4
        [(26, 1), (24, 2), (18, 4), (22, 4)], // 5
        [(18, 2), (16, 4), (24, 4), (28, 4)], // 6
        [(20, 2), (18, 4), (18, 6), (26, 5)], // 7
        [(24, 2), (22, 4), (22, 6), (26, 6)], // 8
        [(30, 2), (22, 5), (20, 8), (24, 8)], // 9
        [(18, 4), (26, 5), (24, 8), (28, 8)], // 10
        [(20, 4), (30, 5), (28, 8), (24, 11)], // 11
        [(24, 4), (22, 8), (26, 10), (28, 11)], // 12
        [(26, 4), (22, 9), (24, 12), (22, 16)], // 13
        [(30, 4), (24, 9), (20, 16), (24, 16)], // 14
        [(22, 6), (24, 10), (30, 12), (24, 18)], // 15
        [(24, 6), (28, 10), (24, 17), (30, 16)], // 16
        [(28, 6), (28, 11), (28, 16), (28, 19)], // 17
        [(30, 6), (26, 13), (28, 18), (28, 21)], // 18
        [(28, 7), (26, 14), (26, 21), (26, 25)], // 19
        [(28, 8), (26, 16), (30, 20), (28, 25)], // 20
        [(28, 8), (26, 17), (28, 23), (30, 25)], // 21
        [(28, 9), (28, 17), (30, 23), (24, 34)], // 22
        [(30, 9), (28, 18), (30, 25), (30, 30)], // 23
        [(30, 10), (28, 20), (30, 27), (30, 32)], // 24
        [(26, 12), (28, 21), (30, 29), (30, 35)], // 25
        [(28, 12), (28, 23), (28, 34), (30, 37)], // 26
        [(30, 12), (28, 25), (30, 34), (30, 40)], // 27
        [(30, 13), (28, 26), (30, 35), (30, 42)], // 28
        [(30, 14), (28, 28), (30, 38), (30, 45)], // 29
        [(30, 15), (28, 29), (30, 40), (30, 48)], // 30
        [(30, 16), (28, 31), (30, 43), (30, 51)], // 31
        [(30, 17), (28, 33), (30, 45), (30, 54)], // 32
        [(30, 18), (28, 35), (30, 48), (30, 57)], // 33
        [(30, 19), (28, 37), (30, 51), (30, 60)], // 34
        [(30, 19), (28, 38), (30, 53), (30, 63)], // 35
        [(30, 20), (28, 40), (30, 56), (30, 66)], // 36
        [(30, 21), (28, 43), (30, 59), (30, 70)], // 37
        [(30, 22), (28, 45), (30, 62), (30, 74)], // 38
        [(30, 24), (28, 47), (30, 65), (30, 77)], // 39
        [(30, 25), (28, 49), (30, 68), (30, 81)], // 40
    ]

    func codewordsPerBlock(_ correction: ErrorCorrection) -> Int {
        Self.blockTable[number - 1][correction.column].codewordsPerBlock
    }

    func blockCount(_ correction: ErrorCorrection) -> Int {
        Self.blockTable[number - 1][correction.column].blockCount
    }

    func dataCodewords(_ correction: ErrorCorrection) -> Int {
        totalCodewords - codewordsPerBlock(correction) * blockCount(correction)
    }

    /// Bytes one byte-mode segment can carry (Table 7).
    func byteCapacity(_ correction: ErrorCorrection) -> Int {
        let bits = dataCodewords(correction) * 8 - 4 - byteCountBits
        return min(bits / 8, (1 << byteCountBits) - 1)
    }

    /// The smallest version that holds `byteCount` bytes at this level.
    static func smallest(holding byteCount: Int, _ correction: ErrorCorrection) -> SymbolVersion? {
        all.first { byteCount <= $0.byteCapacity(correction) }
    }
}

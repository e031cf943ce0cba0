import Testing
@testable import QRCode

/// The numbers the encoder derives or tabulates, against the standard's own tables.
@Suite struct StandardTablesTests {
    @Test func byteCapacityMatchesTable7() throws {
        for (number, capacities) in try Vectors.perVersion("byte-capacity.txt") {
            let version = try #require(SymbolVersion(number))
            #expect(ErrorCorrection.allCases.map(version.byteCapacity) == capacities, "version \(number)")
        }
        #expect(QRCode.maximumByteCount(correction: .low) == 2953)
        #expect(QRCode.maximumByteCount(correction: .high) == 1273)
    }

    @Test func codewordCountsMatchTable1() throws {
        for (number, counts) in try Vectors.perVersion("codeword-counts.txt") {
            let version = try #require(SymbolVersion(number))
            #expect([version.totalCodewords, version.dataModules % 8] == counts, "version \(number)")
        }
    }

    /// The counted formula for the data region agrees with the modules the drawn function
    /// patterns actually leave free.
    @Test(arguments: 1...40)
    func dataModulesAreTheModulesLeftByFunctionPatterns(_ number: Int) throws {
        let version = try #require(SymbolVersion(number))
        let grid = ModuleGrid(functionPatternsFor: version)
        #expect(grid.size == 17 + 4 * number)
        #expect(grid.isFunction.filter { !$0 }.count == version.dataModules)
    }

    @Test func alignmentCentresMatchAnnexE() throws {
        for (number, centres) in try Vectors.perVersion("alignment-positions.txt") {
            let version = try #require(SymbolVersion(number))
            #expect(version.alignmentCenters == centres, "version \(number)")
        }
    }

    @Test func formatInformationMatchesAnnexC() throws {
        let lines = try Vectors.lines("format-information.txt")
        #expect(lines.count == 32)
        let levels: [Substring: ErrorCorrection] = ["L": .low, "M": .medium, "Q": .quartile, "H": .high]
        for line in lines {
            let fields = line.split(separator: " ")
            let level = try #require(levels[fields[0]])
            let mask = try #require(Int(fields[1]))
            let expected = try #require(Int(fields[2], radix: 2))
            #expect(FormatInformation.bits(correction: level, mask: mask) == expected, "\(level) mask \(mask)")
        }
    }

    @Test func versionInformationMatchesAnnexD() throws {
        let lines = try Vectors.lines("version-information.txt")
        #expect(lines.count == 34)
        for line in lines {
            let fields = line.split(separator: " ")
            let version = try #require(Int(fields[0]).flatMap(SymbolVersion.init))
            let expected = try #require(Int(fields[1], radix: 2))
            #expect(VersionInformation.bits(for: version) == expected, "version \(version.number)")
        }
    }

    @Test func reedSolomonMatchesPublishedExamples() throws {
        let lines = try Vectors.lines("reed-solomon.txt")
        #expect(lines.count == 2)
        for line in lines {
            let halves = line.split(separator: ";")
            let data = Vectors.integers(halves[0]).map(UInt8.init)
            let expected = Vectors.integers(halves[1]).map(UInt8.init)
            let encoder = ReedSolomonEncoder(degree: expected.count)
            #expect(encoder.remainder(of: data[...]) == expected)
        }
    }

    @Test func galoisFieldArithmetic() {
        #expect(GaloisField.multiply(2, 128) == 0x1D) // x · x⁷ = x⁸ ≡ x⁴ + x³ + x² + 1
        #expect(GaloisField.multiply(0, 77) == 0)
        #expect(GaloisField.multiply(1, 77) == 77)
        // α = 2 generates the multiplicative group: α^255 = 1 and no smaller power is 1.
        var power: UInt8 = 1
        for exponent in 1...255 {
            power = GaloisField.multiply(power, 2)
            #expect((power == 1) == (exponent == 255))
        }
    }

    /// Worked by hand from §7.4: mode 0100, count 00000001, 'A' 01000001, terminator 0000,
    /// then pad codewords 11101100 and 00010001 alternately up to 1-M's 16 data codewords.
    @Test func dataCodewordsArePaddedAsSpecified() throws {
        let version = try #require(SymbolVersion(1))
        let codewords = try #require(Codewords.data([0x41], version: version, correction: .medium))
        #expect(codewords == [0x40, 0x14, 0x10, 0xEC, 0x11, 0xEC, 0x11, 0xEC, 0x11, 0xEC, 0x11, 0xEC, 0x11, 0xEC, 0x11, 0xEC])
        #expect(Codewords.data(Array(repeating: 0, count: 15), version: version, correction: .medium) == nil)
    }

    /// Version 5-Q has blocks of 15, 15, 16 and 16 data codewords (Table 9): interleaving
    /// takes column by column, the longer blocks' last codewords after all the others.
    @Test func interleavingFollowsTable9BlockStructure() throws {
        let version = try #require(SymbolVersion(5))
        #expect(version.blockCount(.quartile) == 4 && version.codewordsPerBlock(.quartile) == 18)
        let data = (0..<62).map(UInt8.init)
        let result = Codewords.interleaved(data, version: version, correction: .quartile)
        #expect(result.count == 134)
        #expect(Array(result.prefix(8)) == [0, 15, 30, 46, 1, 16, 31, 47])
        #expect(Array(result[56..<62]) == [14, 29, 44, 60, 45, 61])
        let encoder = ReedSolomonEncoder(degree: 18)
        let eccColumns = result[62...]
        let firstBlock: [UInt8] = eccColumns.enumerated().filter { $0.offset % 4 == 0 }.map(\.element)
        let lastBlock: [UInt8] = eccColumns.enumerated().filter { $0.offset % 4 == 3 }.map(\.element)
        #expect(firstBlock == encoder.remainder(of: data[0..<15]))
        #expect(lastBlock == encoder.remainder(of: data[46..<62]))
    }
}

/// The codeword sequence of §7.4–§7.6: one byte-mode segment, terminator and padding, split
/// into blocks, each given its Reed–Solomon codewords, then interleaved.
enum Codewords {
    /// Mode indicator for 8-bit byte mode (Table 2).
    static let byteMode = 0b0100

    /// The data codewords for `bytes` in `version`, or nil if they do not fit.
    static func data(_ bytes: [UInt8], version: SymbolVersion, correction: ErrorCorrection) -> [UInt8]? {
        guard bytes.count <= version.byteCapacity(correction) else { return nil }
        let capacityBits = version.dataCodewords(correction) * 8
        var buffer = BitBuffer()
        buffer.append(byteMode, bits: 4)
        buffer.append(bytes.count, bits: version.byteCountBits)
        for byte in bytes { buffer.append(Int(byte), bits: 8) }
        // Terminator: up to four zero bits, then zeros to the codeword boundary (§7.4.9).
        buffer.append(0, bits: min(4, capacityBits - buffer.bitCount))
        buffer.append(0, bits: (8 - buffer.bitCount % 8) % 8)
        // Pad codewords alternate 11101100 and 00010001 (§7.4.10).
        var codewords = buffer.bytes
        let padding: [UInt8] = [0xEC, 0x11]
        var next = 0
        while codewords.count < capacityBits / 8 {
            codewords.append(padding[next])
            next = 1 - next
        }
        return codewords
    }

    /// Splits data codewords into the blocks of Table 9 (the shorter blocks first), appends
    /// each block's error correction and interleaves them (§7.6).
    static func interleaved(_ data: [UInt8], version: SymbolVersion, correction: ErrorCorrection) -> [UInt8] {
        let blockCount = version.blockCount(correction)
        let eccLength = version.codewordsPerBlock(correction)
        let total = version.totalCodewords
        let longBlocks = total % blockCount
        let shortDataLength = total / blockCount - eccLength
        let encoder = ReedSolomonEncoder(degree: eccLength)

        var dataBlocks: [ArraySlice<UInt8>] = []
        var start = data.startIndex
        for index in 0..<blockCount {
            let length = shortDataLength + (index >= blockCount - longBlocks ? 1 : 0)
            let end = min(start + length, data.endIndex)
            dataBlocks.append(data[start..<end])
            start = end
        }
        let eccBlocks = dataBlocks.map(encoder.remainder(of:))

        var result: [UInt8] = []
        result.reserveCapacity(total)
        for offset in 0...shortDataLength {
            for block in dataBlocks where offset < block.count {
                result.append(block[block.startIndex + offset])
            }
        }
        for offset in 0..<eccLength {
            for block in eccBlocks { result.append(block[offset]) }
        }
        return result
    }
}

/// Bits appended most significant first, packed into bytes.
struct BitBuffer {
    private(set) var bytes: [UInt8] = []
    private(set) var bitCount = 0

    mutating func append(_ value: Int, bits: Int) {
        for shift in stride(from: bits - 1, through: 0, by: -1) {
            if bitCount % 8 == 0 { bytes.append(0) }
            if (value >> shift) & 1 == 1 {
                bytes[bytes.count - 1] |= 0x80 >> UInt8(bitCount % 8)
            }
            bitCount += 1
        }
    }
}

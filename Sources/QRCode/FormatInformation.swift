/// The 15-bit format information of §7.9: two bits of error-correction level, three of mask
/// pattern, ten of BCH(15,5) protection, XORed with 101010000010010 so it is never all light.
enum FormatInformation {
    static let generator = 0b101_0011_0111 // x¹⁰ + x⁸ + x⁵ + x⁴ + x² + x + 1
    static let xorMask = 0b101_0100_0001_0010

    static func bits(correction: ErrorCorrection, mask: Int) -> Int {
        let data = correction.formatBits << 3 | mask
        return (data << 10 | bchRemainder(data, generator: generator, degree: 10)) ^ xorMask
    }

    /// Where bit i goes (x, y): entries 0…14 the copy around the upper-left finder, 15…29
    /// the copy split between the upper-right and lower-left ones (Figure 25).
    static func positions(size: Int) -> [(x: Int, y: Int)] {
        var first: [(x: Int, y: Int)] = (0...5).map { (8, $0) }
        first += [(8, 7), (8, 8), (7, 8)] // stepping round the timing patterns
        first += (9...14).map { (14 - $0, 8) }
        let second: [(x: Int, y: Int)] = (0...7).map { (size - 1 - $0, 8) } + (8...14).map { (8, size - 15 + $0) }
        return first + second
    }
}

/// The 18-bit version information of §7.10: six bits of version, twelve of BCH(18,6).
enum VersionInformation {
    static let generator = 0b1_1111_0010_0101 // x¹² + x¹¹ + x¹⁰ + x⁹ + x⁸ + x⁵ + x² + 1

    static func bits(for version: SymbolVersion) -> Int {
        version.number << 12 | bchRemainder(version.number, generator: generator, degree: 12)
    }
}

/// The remainder of data·x^degree divided by the generator, polynomials over GF(2) as bits.
func bchRemainder(_ data: Int, generator: Int, degree: Int) -> Int {
    var remainder = data << degree
    let highest = Int.bitWidth - 1 - remainder.leadingZeroBitCount
    if highest >= degree {
        for bit in stride(from: highest, through: degree, by: -1) where (remainder >> bit) & 1 == 1 {
            remainder ^= generator << (bit - degree)
        }
    }
    return remainder
}

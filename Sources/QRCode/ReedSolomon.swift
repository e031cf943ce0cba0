/// Arithmetic in GF(2⁸) modulo x⁸ + x⁴ + x³ + x² + 1 (0x11D), the field of §7.5.2.
enum GaloisField {
    static func multiply(_ a: UInt8, _ b: UInt8) -> UInt8 {
        var product: UInt8 = 0
        var a = a
        var b = b
        while b != 0 {
            if b & 1 != 0 { product ^= a }
            let overflows = a & 0x80 != 0
            a <<= 1
            if overflows { a ^= 0x1D } // x⁸ = x⁴ + x³ + x² + 1
            b >>= 1
        }
        return product
    }
}

/// Reed–Solomon error-correction codewords (§7.5.2): the remainder of the data polynomial,
/// times x^degree, divided by the generator polynomial (x - α⁰)(x - α¹)…(x - α^(degree-1)).
struct ReedSolomonEncoder: Sendable {
    /// The generator's coefficients below its leading 1, highest power first.
    let generator: [UInt8]

    init(degree: Int) {
        var poly: [UInt8] = [1] // highest power first
        var root: UInt8 = 1 // α⁰
        for _ in 0..<degree {
            // poly × (x + root); in GF(2⁸) subtraction is addition.
            var next = poly + [0]
            for i in poly.indices {
                next[i + 1] ^= GaloisField.multiply(poly[i], root)
            }
            poly = next
            root = GaloisField.multiply(root, 2)
        }
        generator = Array(poly.dropFirst())
    }

    /// The `generator.count` error-correction codewords for one block of data codewords.
    func remainder(of data: ArraySlice<UInt8>) -> [UInt8] {
        let degree = generator.count
        var remainder = [UInt8](repeating: 0, count: degree)
        for byte in data {
            let factor = byte ^ (remainder.first ?? 0)
            // Shift the register by one codeword, then subtract factor × generator.
            for i in 0..<degree {
                let shifted = i + 1 < degree ? remainder[i + 1] : 0
                remainder[i] = shifted ^ GaloisField.multiply(generator[i], factor)
            }
        }
        return remainder
    }
}

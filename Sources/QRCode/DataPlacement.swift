extension ModuleGrid {
    /// Places the codeword bits, most significant first, in two-module columns running up and
    /// down alternately from the lower-right corner, skipping function modules and the vertical
    /// timing pattern's column (§7.7.3). Modules left over are the remainder bits, light.
    mutating func placeCodewords(_ codewords: [UInt8]) {
        let bitCount = codewords.count * 8
        var bit = 0
        var right = size - 1
        var upward = true
        while right >= 1 {
            if right == 6 { right = 5 } // column 6 is the timing pattern
            for step in 0..<size {
                let y = upward ? size - 1 - step : step
                for x in stride(from: right, through: right - 1, by: -1)
                where !isFunction(x: x, y: y) && bit < bitCount {
                    let isDark = (codewords[bit / 8] >> UInt8(7 - bit % 8)) & 1 == 1
                    setData(x: x, y: y, dark: isDark)
                    bit += 1
                }
            }
            right -= 2
            upward.toggle()
        }
    }

    /// Inverts every module of the encoding region where the mask pattern's condition holds.
    mutating func applyMask(_ mask: Int) {
        for y in 0..<size {
            for x in 0..<size where !isFunction(x: x, y: y) && MaskPattern.inverts(mask, x: x, y: y) {
                invert(x: x, y: y)
            }
        }
    }
}

/// The eight data mask patterns of §7.8.2 (Table 10), with i the row and j the column.
enum MaskPattern {
    static let all = 0..<8

    static func inverts(_ mask: Int, x j: Int, y i: Int) -> Bool {
        switch mask {
        case 0: (i + j) % 2 == 0
        case 1: i % 2 == 0
        case 2: j % 3 == 0
        case 3: (i + j) % 3 == 0
        case 4: (i / 2 + j / 3) % 2 == 0
        case 5: (i * j) % 2 + (i * j) % 3 == 0
        case 6: ((i * j) % 2 + (i * j) % 3) % 2 == 0
        case 7: ((i + j) % 2 + (i * j) % 3) % 2 == 0
        default: false
        }
    }
}

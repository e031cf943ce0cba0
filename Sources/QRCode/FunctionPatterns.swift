/// The function patterns of §6.3: drawn once per symbol before any data is placed, so the
/// data placement knows which modules to skip.
extension ModuleGrid {
    /// A grid for `version` with every function pattern drawn, the version information (v7+)
    /// written and the format information areas reserved (light until a mask is chosen).
    init(functionPatternsFor version: SymbolVersion) {
        self.init(size: version.size)
        // Timing patterns first: finders and alignment patterns overwrite their ends.
        for i in 0..<size {
            setFunction(x: 6, y: i, dark: i % 2 == 0)
            setFunction(x: i, y: 6, dark: i % 2 == 0)
        }
        drawFinderPattern(centerX: 3, centerY: 3)
        drawFinderPattern(centerX: size - 4, centerY: 3)
        drawFinderPattern(centerX: 3, centerY: size - 4)

        let centers = version.alignmentCenters
        for (i, cy) in centers.enumerated() {
            for (j, cx) in centers.enumerated() {
                // The three corners where a finder pattern stands get none.
                let isFinderCorner = (i == 0 && j == 0) || (i == 0 && j == centers.count - 1)
                    || (i == centers.count - 1 && j == 0)
                if !isFinderCorner { drawAlignmentPattern(centerX: cx, centerY: cy) }
            }
        }
        drawFormatInformation(0)
        if version.number >= 7 { drawVersionInformation(VersionInformation.bits(for: version)) }
    }

    /// The 7×7 finder pattern and its light one-module separator (§6.3.3, §6.3.4), clipped at
    /// the symbol's edge.
    private mutating func drawFinderPattern(centerX: Int, centerY: Int) {
        for dy in -4...4 {
            for dx in -4...4 where contains(x: centerX + dx, y: centerY + dy) {
                let ring = max(abs(dx), abs(dy)) // 0…1 centre, 2 light, 3 dark, 4 separator
                setFunction(x: centerX + dx, y: centerY + dy, dark: ring != 2 && ring != 4)
            }
        }
    }

    /// The 5×5 alignment pattern (§6.3.6): dark centre, light ring, dark ring.
    private mutating func drawAlignmentPattern(centerX: Int, centerY: Int) {
        for dy in -2...2 {
            for dx in -2...2 {
                setFunction(x: centerX + dx, y: centerY + dy, dark: max(abs(dx), abs(dy)) != 1)
            }
        }
    }

    /// Both copies of the 15 format bits (§7.9.1), bit 0 the least significant, and the dark
    /// module beside the lower-left finder.
    mutating func drawFormatInformation(_ bits: Int) {
        for (i, position) in FormatInformation.positions(size: size).enumerated() {
            let isDark = (bits >> (i % 15)) & 1 == 1
            setFunction(x: position.x, y: position.y, dark: isDark)
        }
        setFunction(x: 8, y: size - 8, dark: true)
    }

    /// Both copies of the 18 version bits (§7.10): a 6×3 block above the lower-left finder and
    /// its transpose left of the upper-right one.
    private mutating func drawVersionInformation(_ bits: Int) {
        for i in 0..<18 {
            let isDark = (bits >> i) & 1 == 1
            let near = i / 3
            let far = size - 11 + i % 3
            setFunction(x: near, y: far, dark: isDark)
            setFunction(x: far, y: near, dark: isDark)
        }
    }
}

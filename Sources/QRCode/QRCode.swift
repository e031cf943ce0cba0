/// A QR code symbol (ISO/IEC 18004, model 2) holding one byte-mode segment.
///
/// `QRCode.encode` picks the smallest version that holds the data at the requested
/// error-correction level and the mask with the lowest penalty. The default level is `.low`:
/// a WireGuard client configuration is shown on a screen, where nothing smudges or tears it,
/// and L keeps the symbol smallest (a ~350-byte config with a preshared key needs version 12,
/// 65 modules a side, at L against version 14, 73 modules, at M), so each module is larger on
/// the screen and easier for a phone's camera. `boostCorrection` then raises the level as far
/// as the same version allows, which costs nothing in size.
public struct QRCode: Sendable, Hashable {
    /// 1 to 40; the symbol is 17 + 4 × version modules on a side.
    public let version: Int
    /// The level actually used (it can be above the requested one when boosted).
    public let correction: ErrorCorrection
    /// The data mask pattern chosen, 0 to 7.
    public let mask: Int
    let grid: ModuleGrid

    /// Modules on a side, without the quiet zone.
    public var size: Int { grid.size }

    /// Whether the module in column `x`, row `y` (0-based from the upper left) is dark.
    /// Coordinates outside the symbol answer false (light), as the quiet zone is.
    public subscript(x: Int, y: Int) -> Bool {
        grid.contains(x: x, y: y) && grid[x, y]
    }

    /// The most bytes any symbol holds at `correction` (version 40, Table 7).
    public static func maximumByteCount(correction: ErrorCorrection) -> Int {
        SymbolVersion.largest.byteCapacity(correction)
    }

    /// Encodes `bytes` in byte mode.
    ///
    /// - Parameters:
    ///   - correction: the lowest error-correction level acceptable.
    ///   - boostCorrection: raise the level while the data still fits the same version.
    /// - Throws: `QRCodeError.dataTooLong` when even version 40 cannot hold the data.
    public static func encode(
        _ bytes: [UInt8], correction: ErrorCorrection = .low, boostCorrection: Bool = true
    ) throws(QRCodeError) -> QRCode {
        try encode(bytes, correction: correction, boostCorrection: boostCorrection, mask: nil)
    }

    /// Encodes the UTF-8 bytes of `text` in byte mode; see `encode(_:correction:boostCorrection:)`.
    public static func encode(
        _ text: String, correction: ErrorCorrection = .low, boostCorrection: Bool = true
    ) throws(QRCodeError) -> QRCode {
        try encode(Array(text.utf8), correction: correction, boostCorrection: boostCorrection, mask: nil)
    }

    /// As the public `encode`, with the mask forced when `mask` is 0…7 (for tests).
    static func encode(
        _ bytes: [UInt8], correction: ErrorCorrection, boostCorrection: Bool, mask forcedMask: Int?
    ) throws(QRCodeError) -> QRCode {
        let tooLong = QRCodeError.dataTooLong(
            byteCount: bytes.count, maximum: maximumByteCount(correction: correction), correction: correction)
        guard let version = SymbolVersion.smallest(holding: bytes.count, correction) else { throw tooLong }
        var level = correction
        while boostCorrection, let stronger = level.stronger, bytes.count <= version.byteCapacity(stronger) {
            level = stronger
        }
        guard let data = Codewords.data(bytes, version: version, correction: level) else { throw tooLong }
        var unmasked = ModuleGrid(functionPatternsFor: version)
        unmasked.placeCodewords(Codewords.interleaved(data, version: version, correction: level))

        func masked(_ mask: Int) -> ModuleGrid {
            var grid = unmasked
            grid.applyMask(mask)
            grid.drawFormatInformation(FormatInformation.bits(correction: level, mask: mask))
            return grid
        }
        if let forcedMask, MaskPattern.all.contains(forcedMask) {
            return QRCode(version: version.number, correction: level, mask: forcedMask, grid: masked(forcedMask))
        }
        // Scored with the format information in place: it is part of what a reader sees.
        var best = (mask: 0, grid: masked(0))
        var bestPenalty = Penalty(best.grid).total
        for mask in MaskPattern.all.dropFirst() {
            let grid = masked(mask)
            let penalty = Penalty(grid).total
            if penalty < bestPenalty { (best, bestPenalty) = ((mask, grid), penalty) }
        }
        return QRCode(version: version.number, correction: level, mask: best.mask, grid: best.grid)
    }
}

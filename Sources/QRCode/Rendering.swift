/// What the renderers share: the symbol with its quiet zone around it.
extension QRCode {
    /// Quiet zones and scales are clamped into these ranges so that no argument can make a
    /// renderer trap or allocate without bound. ISO/IEC 18004 asks for a 4-module quiet zone.
    static let quietZoneRange = 0...16
    static let scaleRange = 1...32

    /// Whether the module at (x, y) is dark, in coordinates that include a quiet zone of
    /// `quietZone` modules on each side.
    func isDark(x: Int, y: Int, quietZone: Int) -> Bool {
        self[x - quietZone, y - quietZone]
    }
}

extension Comparable {
    func clamped(to range: ClosedRange<Self>) -> Self {
        min(max(self, range.lowerBound), range.upperBound)
    }
}

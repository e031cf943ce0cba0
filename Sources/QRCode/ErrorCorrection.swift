/// The four error-correction levels of ISO/IEC 18004 (§5.3.8): roughly 7 %, 15 %, 25 % and
/// 30 % of the codewords can be restored.
public enum ErrorCorrection: Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case low, medium, quartile, high

    public var description: String {
        switch self {
        case .low: "L"
        case .medium: "M"
        case .quartile: "Q"
        case .high: "H"
        }
    }

    /// The two bits this level contributes to the format information (Table 12); note the
    /// standard's order is not the order of strength.
    var formatBits: Int {
        switch self {
        case .low: 0b01
        case .medium: 0b00
        case .quartile: 0b11
        case .high: 0b10
        }
    }

    /// The next stronger level, if any.
    var stronger: ErrorCorrection? {
        switch self {
        case .low: .medium
        case .medium: .quartile
        case .quartile: .high
        case .high: nil
        }
    }

    /// This level's column in the tables ordered L, M, Q, H.
    var column: Int {
        switch self {
        case .low: 0
        case .medium: 1
        case .quartile: 2
        case .high: 3
        }
    }
}

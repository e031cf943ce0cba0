/// Why a QR code could not be made.
public enum QRCodeError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The data needs more room than a version 40 symbol has at this error-correction level.
    case dataTooLong(byteCount: Int, maximum: Int, correction: ErrorCorrection)

    public var description: String {
        switch self {
        case let .dataTooLong(count, maximum, correction):
            "\(count) bytes do not fit in a QR code at error correction \(correction) (at most \(maximum))"
        }
    }
}

import FerryCore
import Foundation
import Hummingbird
import QRCode

/// A wg-quick file as text, or as a QR code a phone's WireGuard app scans: Unicode blocks
/// for a terminal, PNG or SVG for a file.
public enum ConfigQR {
    public enum Format: String, CaseIterable, Sendable {
        case wgQuick = "wg-quick", qrText = "qr-text", qrPNG = "qr-png", qrSVG = "qr-svg"
    }

    public static func qr(_ config: String) throws(APIError) -> QRCode {
        do { return try QRCode.encode(config, correction: .low) } catch {
            throw APIError.invalid("format", "config too long for a QR code: \(error)")
        }
    }

    static func response(_ config: String, format: String) throws -> Response {
        let f = try Validate.enumValue(format, Format.self, field: "format")
        switch f {
        case .wgQuick: return HTTP.text(config)
        case .qrText: return HTTP.text(try qr(config).terminalString() + "\n")
        case .qrSVG: return HTTP.text(try qr(config).svg(), type: "image/svg+xml")
        case .qrPNG:
            return Response(status: .ok, headers: [.contentType: "image/png"],
                            body: .init(byteBuffer: ByteBuffer(bytes: try qr(config).png())))
        }
    }
}

import FerrySystem
import Foundation

/// zbarimg, Debian's QR code reader (zbar-tools, installed by scripts/install-test-deps.sh),
/// for tests that demand the exact bytes back from a QR code they rendered.
public enum ZbarImg {
    /// zbarimg on PATH, or nil.
    public static var executable: URL? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").map { URL(fileURLWithPath: String($0)).appendingPathComponent("zbarimg") }
            .first { FileManager.default.isExecutableFile(atPath: $0.path) }
    }

    /// Reads the PNG file at `file`: zbarimg's exit status (0 with a symbol found, 4 with
    /// none) and the bytes it printed. Only the QR reader is enabled: random modules now and
    /// then look like a 1-D barcode to the others (one read a GS1 DataBar "0103759422536716"
    /// out of a version 40 symbol). `-Sbinary` keeps zbar from guessing a character set and
    /// converting (it read UTF-8 "ü…" as Shift JIS); `--raw` leaves out the symbology prefix.
    public static func read(_ file: URL, executable: URL) throws -> (status: Int32, bytes: [UInt8]) {
        let process = ChildProcess()
        process.executableURL = executable
        process.arguments = ["--nodbus", "--raw", "-q", "-Sdisable", "-Sqrcode.enable", "-Sbinary", file.path]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let decoded = [UInt8](output.fileHandleForReading.readDataToEndOfFile())
        process.waitUntilExit()
        return (process.terminationStatus, decoded)
    }
}

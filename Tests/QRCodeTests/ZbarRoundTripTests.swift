import FerryTestSupport
import Foundation
import Testing
@testable import QRCode

/// Decodes the PNG files with a real reader, zbarimg (Debian's zbar-tools, installed by
/// scripts/install-test-deps.sh), and demands the exact bytes back.
@Suite struct ZbarRoundTripTests {
    /// Set QRCODE_TEST_SEED to repeat a run; every failure names the seed it used.
    static let seed: UInt64 = ProcessInfo.processInfo.environment["QRCODE_TEST_SEED"].flatMap { UInt64($0) }
        ?? UInt64.random(in: 0...UInt64.max)

    /// One symbol of every version at each level: for version v a random length between what
    /// version v - 1 holds (exclusive) and what v holds, so the encoder must choose v. Odd
    /// versions carry arbitrary bytes, even ones printable text with newlines, like a config.
    @Test(arguments: ErrorCorrection.allCases)
    func everyVersionDecodesToTheSameBytes(_ level: ErrorCorrection) throws {
        let zbar = try Zbar()
        var random = SeededGenerator(seed: Self.seed ^ UInt64(level.column))
        for version in SymbolVersion.all {
            let smaller = SymbolVersion(version.number - 1)?.byteCapacity(level) ?? -1
            let count = Int.random(in: (smaller + 1)...version.byteCapacity(level), using: &random)
            let bytes = version.number % 2 == 1
                ? (0..<count).map { _ in UInt8.random(in: 0...255, using: &random) }
                : (0..<count).map { _ in Self.textCharacters.randomElement(using: &random) ?? 0x20 }
            let qr = try QRCode.encode(bytes, correction: level, boostCorrection: false)
            let context = "\(count) bytes at \(level), seed \(Self.seed)"
            #expect(qr.version == version.number, "\(context)")
            #expect(qr.correction == level)
            try zbar.expect(qr.png(scale: 3), decodesTo: bytes, name: "v\(version.number)-\(level)", context)
        }
    }

    /// The largest payload of each level, and lengths either side of the one-byte length
    /// field's end (versions 9 and 10), with the defaults the CLI uses.
    @Test(arguments: ErrorCorrection.allCases)
    func boundaryLengthsDecode(_ level: ErrorCorrection) throws {
        let zbar = try Zbar()
        var random = SeededGenerator(seed: Self.seed ^ 0x5151 ^ UInt64(level.column))
        let nine = try #require(SymbolVersion(9)).byteCapacity(level)
        for count in [0, 1, nine, nine + 1, QRCode.maximumByteCount(correction: level)] {
            let bytes = (0..<count).map { _ in UInt8.random(in: 0...255, using: &random) }
            let qr = try QRCode.encode(bytes, correction: level)
            try zbar.expect(qr.png(), decodesTo: bytes, name: "edge-\(count)-\(level)", "seed \(Self.seed)")
        }
    }

    @Test func clientConfigurationDecodesWithDefaults() throws {
        let config = """
            [Interface]
            PrivateKey = yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=
            Address = 10.8.0.2/32, fd00:8::2/128
            DNS = 10.8.0.1

            [Peer]
            PublicKey = xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=
            PresharedKey = FpCyhws9cxwWoV4xELtfJvjJN+zQVRPISllRWgeopVE=
            Endpoint = vpn.example.com:51820
            AllowedIPs = 0.0.0.0/0, ::/0
            PersistentKeepalive = 25

            """
        let qr = try QRCode.encode(config)
        #expect(qr.version <= 13, "a \(config.utf8.count)-byte config should stay small at the default level")
        try Zbar().expect(qr.png(), decodesTo: Array(config.utf8), name: "config", "default settings")
    }

    static let textCharacters: [UInt8] = Array(0x20...0x7E) + [0x0A]
}

/// Runs zbarimg on PNG files written to a fresh temporary directory, removed afterwards
/// unless it holds an image zbarimg misread.
final class Zbar {
    struct Missing: Error, CustomStringConvertible {
        var description: String {
            "zbarimg is not on PATH: install Debian's zbar-tools (scripts/install-test-deps.sh does)"
        }
    }

    let executable: URL
    let directory: URL

    init() throws {
        guard let found = ZbarImg.executable else { throw Missing() }
        executable = found
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("qrcode-zbar-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    deinit {
        if (try? FileManager.default.contentsOfDirectory(atPath: directory.path))?.isEmpty == true {
            try? FileManager.default.removeItem(at: directory)
        }
    }

    /// Expects zbarimg to read exactly `expected` from `png` (ZbarImg.read).
    func expect(_ png: [UInt8], decodesTo expected: [UInt8], name: String, _ context: String,
                sourceLocation: SourceLocation = #_sourceLocation) throws {
        let file = directory.appendingPathComponent("\(name).png")
        try Data(png).write(to: file)
        let (status, decoded) = try ZbarImg.read(file, executable: executable)
        if status == 0 && decoded == expected {
            try? FileManager.default.removeItem(at: file)
            return
        }
        let firstDifference = zip(decoded, expected).enumerated().first { $0.element.0 != $0.element.1 }?.offset
            ?? min(decoded.count, expected.count)
        let message = "zbarimg (exit \(status)) read \(decoded.count) bytes, expected \(expected.count); "
            + "first difference at \(firstDifference); \(context); image kept at \(file.path)"
        Issue.record(Comment(rawValue: message),
            sourceLocation: sourceLocation)
    }
}

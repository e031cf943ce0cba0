import Testing
@testable import QRCode

@Suite struct ChecksumTests {
    @Test func crc32CheckValue() {
        // The CRC-32 "check" value (ISO 3309 / zlib's crc32 of "123456789").
        #expect(CRC32.checksum(Array("123456789".utf8)) == 0xCBF4_3926)
        #expect(CRC32.checksum([]) == 0)
        // PNG §5.5's own example: the IEND chunk's CRC.
        #expect(CRC32.checksum(Array("IEND".utf8)) == 0xAE42_6082)
    }

    @Test func adler32KnownValues() {
        #expect(Adler32.checksum(Array("Wikipedia".utf8)) == 0x11E6_0398)
        #expect(Adler32.checksum([]) == 1)
        // Sums wrap at 65521: 100 000 bytes of 0xFF exercise the reduction.
        var reference: (a: UInt64, b: UInt64) = (1, 0)
        for _ in 0..<100_000 { reference.a = (reference.a + 255) % 65521; reference.b = (reference.b + reference.a) % 65521 }
        #expect(Adler32.checksum([UInt8](repeating: 0xFF, count: 100_000)) == UInt32(reference.b << 16 | reference.a))
    }

    @Test(arguments: [0, 1, 65535, 65536, 140_000])
    func zlibStoredRoundTrips(_ count: Int) throws {
        let data = (0..<count).map { UInt8(truncatingIfNeeded: $0 * 31 + $0 / 256) }
        let stream = Zlib.stored(data)
        #expect(try PNGReader.inflateStored(stream) == data)
        #expect(stream.count == 2 + 5 * max(1, (count + 65534) / 65535) + count + 4)
    }
}

@Suite struct PNGTests {
    @Test(arguments: [(1, 0), (1, 4), (3, 2), (8, 4)])
    func pixelsAreTheModules(_ scale: Int, _ quietZone: Int) throws {
        let qr = try QRCode.encode("[Interface]\nPrivateKey = ...")
        let png = try PNGReader(qr.png(scale: scale, quietZone: quietZone))
        let side = (qr.size + 2 * quietZone) * scale
        #expect(png.width == side && png.height == side)
        #expect(png.chunkTypes == ["IHDR", "IDAT", "IEND"])
        for y in 0..<side {
            for x in 0..<side where png.isBlack(x: x, y: y) != qr[x / scale - quietZone, y / scale - quietZone] {
                Issue.record("pixel (\(x), \(y)) at scale \(scale), quiet zone \(quietZone)")
                return
            }
        }
    }

    @Test func argumentsAreClampedNotTrusted() throws {
        let qr = try QRCode.encode("clamp")
        let tiny = try PNGReader(qr.png(scale: 0, quietZone: -5))
        #expect(tiny.width == qr.size)
        let huge = try PNGReader(qr.png(scale: 1000, quietZone: 1000))
        #expect(huge.width == (qr.size + 2 * 16) * 32)
        #expect(qr.svg(moduleSize: -1, quietZone: -1).contains("viewBox=\"0 0 \(qr.size) \(qr.size)\""))
        #expect(qr.terminalString(quietZone: Int.max).split(separator: "\n").count == (qr.size + 32 + 1) / 2)
    }
}

@Suite struct TextRendererTests {
    /// Reads the half blocks back into modules: `ink` tells which of (top, bottom) carry a glyph.
    static func inkRows(_ text: String) -> [[Bool]] {
        var rows: [[Bool]] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            var top: [Bool] = []
            var bottom: [Bool] = []
            for scalar in line.unicodeScalars {
                top.append(scalar == "\u{2588}" || scalar == "\u{2580}")
                bottom.append(scalar == "\u{2588}" || scalar == "\u{2584}")
                #expect(" \u{2588}\u{2580}\u{2584}".unicodeScalars.contains(scalar))
            }
            rows += [top, bottom]
        }
        return rows
    }

    @Test(arguments: [TerminalBackground.dark, .light], [0, 2, 4])
    func terminalHalfBlocksReadBackAsTheSymbol(_ background: TerminalBackground, _ quietZone: Int) throws {
        let qr = try QRCode.encode("[Peer]\nEndpoint = vpn.example.com:51820")
        let text = qr.terminalString(quietZone: quietZone, background: background)
        #expect(!text.hasSuffix("\n"))
        let side = qr.size + 2 * quietZone
        let rows = Self.inkRows(text)
        #expect(rows.count == side + 1) // an odd side leaves one half row past the bottom
        for (y, row) in rows.enumerated() {
            #expect(row.count == side)
            for (x, ink) in row.enumerated() {
                // On a dark background ink is light; on a light one ink is dark. Past the last
                // row there is never ink.
                let expected = y < side && qr[x - quietZone, y - quietZone] == (background == .light)
                #expect(ink == expected, "(\(x), \(y)) on \(background) background")
            }
        }
    }

    @Test func defaultTerminalStringIsForDarkBackgroundsWithTwoModuleMargin() throws {
        let qr = try QRCode.encode("ferry")
        #expect(qr.terminalString() == qr.terminalString(quietZone: 2, background: .dark))
        // The top line is all quiet zone, so all light: full blocks on a dark background.
        let firstLine = try #require(qr.terminalString().split(separator: "\n").first)
        #expect(firstLine == String(repeating: "\u{2588}", count: qr.size + 4))
    }

    @Test func svgPathCoversExactlyTheDarkModules() throws {
        let qr = try QRCode.encode("[Interface]\nAddress = 10.8.0.2/32")
        let svg = qr.svg(moduleSize: 5, quietZone: 3)
        let side = qr.size + 6
        #expect(svg.hasPrefix("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\""))
        #expect(svg.contains("width=\"\(side * 5)\" height=\"\(side * 5)\" viewBox=\"0 0 \(side) \(side)\""))
        #expect(svg.hasSuffix("</svg>\n"))
        let pathStart = try #require(svg.range(of: "<path fill=\"#000000\" d=\""))
        let pathEnd = try #require(svg[pathStart.upperBound...].firstIndex(of: "\""))
        var covered = Set<[Int]>()
        for command in svg[pathStart.upperBound..<pathEnd].split(separator: "z") {
            // M{x},{y}h{run}v1h-{run}
            let numbers = command.split(whereSeparator: { "Mhv,-".contains($0) }).compactMap { Int($0) }
            try #require(numbers.count == 5 && numbers[3] == 1 && numbers[2] == numbers[4], "path command \(command)")
            for dx in 0..<numbers[2] {
                #expect(covered.insert([numbers[0] + dx - 3, numbers[1] - 3]).inserted)
            }
        }
        for y in 0..<qr.size {
            for x in 0..<qr.size {
                #expect(covered.contains([x, y]) == qr[x, y], "(\(x), \(y))")
            }
        }
    }
}

/// A minimal PNG writer (PNG, ISO/IEC 15948): one bilevel image, 1-bit grayscale, no
/// interlace, filter type 0 on every scanline, the zlib stream made of stored (uncompressed)
/// deflate blocks.
enum PNGEncoder {
    static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    /// `rows` holds `height` packed scanlines of `(width + 7) / 8` bytes each, most
    /// significant bit leftmost, 1 white and 0 black.
    static func grayscale1Bit(width: Int, height: Int, rows: [UInt8]) -> [UInt8] {
        let rowBytes = (width + 7) / 8
        var header: [UInt8] = []
        header.appendBigEndian(UInt32(width))
        header.appendBigEndian(UInt32(height))
        header += [1, 0, 0, 0, 0] // bit depth 1, grayscale, deflate, filter method 0, no interlace

        var scanlines: [UInt8] = []
        scanlines.reserveCapacity(height * (rowBytes + 1))
        for row in 0..<height {
            scanlines.append(0) // filter type None
            scanlines += rows[(row * rowBytes)..<((row + 1) * rowBytes)]
        }

        var png = signature
        appendChunk("IHDR", header, to: &png)
        appendChunk("IDAT", Zlib.stored(scanlines), to: &png)
        appendChunk("IEND", [], to: &png)
        return png
    }

    /// Length, type, data, and the CRC-32 of type and data (PNG §5.3).
    private static func appendChunk(_ type: String, _ data: [UInt8], to png: inout [UInt8]) {
        let typeBytes = Array(type.utf8)
        png.appendBigEndian(UInt32(data.count))
        png += typeBytes
        png += data
        var crc = CRC32()
        crc.update(typeBytes)
        crc.update(data)
        png.appendBigEndian(crc.value)
    }
}

/// zlib (RFC 1950) around deflate (RFC 1951) stored blocks: the simplest valid stream.
enum Zlib {
    static let maximumStoredBlock = 65535

    static func stored(_ data: [UInt8]) -> [UInt8] {
        // CMF 0x78: deflate, 32 KiB window; FLG 0x01 makes CMF·256 + FLG a multiple of 31.
        var stream: [UInt8] = [0x78, 0x01]
        var start = 0
        repeat {
            let end = min(start + maximumStoredBlock, data.count)
            let length = UInt16(end - start)
            stream.append(end == data.count ? 1 : 0) // BFINAL, BTYPE 00 (stored)
            stream += [UInt8(length & 0xFF), UInt8(length >> 8), UInt8(~length & 0xFF), UInt8(~length >> 8)]
            stream += data[start..<end]
            start = end
        } while start < data.count
        stream.appendBigEndian(Adler32.checksum(data))
        return stream
    }
}

extension QRCode {
    /// The symbol as a 1-bit grayscale PNG file: `scale` pixels (1…32) per module and a
    /// quiet zone of `quietZone` modules (0…16; 4 is what the standard asks for).
    public func png(scale: Int = 8, quietZone: Int = 4) -> [UInt8] {
        let margin = quietZone.clamped(to: Self.quietZoneRange)
        let pixelsPerModule = scale.clamped(to: Self.scaleRange)
        let side = (size + 2 * margin) * pixelsPerModule
        let rowBytes = (side + 7) / 8
        var rows: [UInt8] = []
        rows.reserveCapacity(rowBytes * side)
        for moduleRow in 0..<(size + 2 * margin) {
            var row = [UInt8](repeating: 0xFF, count: rowBytes) // white, padding bits too
            for px in 0..<side where isDark(x: px / pixelsPerModule, y: moduleRow, quietZone: margin) {
                row[px / 8] &= ~(0x80 >> UInt8(px % 8))
            }
            for _ in 0..<pixelsPerModule { rows += row }
        }
        return PNGEncoder.grayscale1Bit(width: side, height: side, rows: rows)
    }
}

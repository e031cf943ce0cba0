@testable import QRCode

/// Reads back exactly the PNG files `QRCode.png` writes (1-bit grayscale, stored deflate
/// blocks), checking every length, checksum and header field on the way; anything else is an
/// error. Written against the PNG and zlib specifications, separately from the writer.
struct PNGReader {
    struct Malformed: Error, CustomStringConvertible {
        let description: String
    }

    let width: Int
    let height: Int
    let chunkTypes: [String]
    private let scanlines: [UInt8]

    /// Whether pixel (x, y) is black.
    func isBlack(x: Int, y: Int) -> Bool {
        let rowBytes = (width + 7) / 8
        let byte = scanlines[y * (rowBytes + 1) + 1 + x / 8]
        return byte & (0x80 >> UInt8(x % 8)) == 0
    }

    init(_ file: [UInt8]) throws {
        guard file.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) else { throw Malformed(description: "signature") }
        var offset = 8
        var types: [String] = []
        var header: [UInt8] = []
        var compressed: [UInt8] = []
        while offset < file.count {
            guard offset + 12 <= file.count else { throw Malformed(description: "truncated chunk at \(offset)") }
            let length = Int(Self.bigEndian(file, at: offset))
            let type = String(decoding: file[(offset + 4)..<(offset + 8)], as: UTF8.self)
            guard offset + 12 + length <= file.count else { throw Malformed(description: "chunk \(type) overruns the file") }
            let data = Array(file[(offset + 8)..<(offset + 8 + length)])
            let crc = Self.bigEndian(file, at: offset + 8 + length)
            guard crc == CRC32.checksum(file[(offset + 4)..<(offset + 8 + length)]) else { throw Malformed(description: "CRC of \(type)") }
            types.append(type)
            if type == "IHDR" { header = data }
            if type == "IDAT" { compressed += data }
            offset += 12 + length
        }
        guard types.first == "IHDR", types.last == "IEND", header.count == 13 else { throw Malformed(description: "chunk order \(types)") }
        width = Int(Self.bigEndian(header, at: 0))
        height = Int(Self.bigEndian(header, at: 4))
        guard Array(header[8...]) == [1, 0, 0, 0, 0] else { throw Malformed(description: "not 1-bit grayscale: \(header[8...])") }
        chunkTypes = types
        scanlines = try Self.inflateStored(compressed)
        let rowBytes = (width + 7) / 8
        guard scanlines.count == height * (rowBytes + 1) else { throw Malformed(description: "image data length") }
        for row in 0..<height where scanlines[row * (rowBytes + 1)] != 0 {
            throw Malformed(description: "filter type of row \(row)")
        }
    }

    /// A zlib stream of stored deflate blocks (RFC 1950, RFC 1951 §3.2.4), Adler-32 checked.
    static func inflateStored(_ stream: [UInt8]) throws -> [UInt8] {
        guard stream.count >= 6, stream[0] & 0x0F == 8, (Int(stream[0]) << 8 | Int(stream[1])) % 31 == 0,
              stream[1] & 0x20 == 0 else { throw Malformed(description: "zlib header") }
        var offset = 2
        var output: [UInt8] = []
        var final = false
        while !final {
            guard offset + 5 <= stream.count else { throw Malformed(description: "truncated deflate block") }
            final = stream[offset] & 1 == 1
            guard stream[offset] >> 1 == 0 else { throw Malformed(description: "not a stored block") }
            let length = Int(stream[offset + 1]) | Int(stream[offset + 2]) << 8
            let complement = Int(stream[offset + 3]) | Int(stream[offset + 4]) << 8
            guard length ^ complement == 0xFFFF, offset + 5 + length <= stream.count else {
                throw Malformed(description: "stored block length")
            }
            output += stream[(offset + 5)..<(offset + 5 + length)]
            offset += 5 + length
        }
        guard offset + 4 == stream.count, bigEndian(stream, at: offset) == Adler32.checksum(output) else {
            throw Malformed(description: "Adler-32 trailer")
        }
        return output
    }

    static func bigEndian(_ bytes: [UInt8], at offset: Int) -> UInt32 {
        bytes[offset..<(offset + 4)].reduce(0) { $0 << 8 | UInt32($1) }
    }
}

/// wg's base64 for 32-byte keys (wireguard-tools encoding.c): 44 characters, one `=` of
/// padding, and the two unused bits of the last character zero, so every key has exactly
/// one spelling.
enum Base64Key {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    static func encode(_ key: Bytes32) -> String {
        key.withUnsafeBytes { bytes in
            var out = [UInt8]()
            out.reserveCapacity(44)
            var i = 0
            while i + 3 <= 32 {
                let v = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2])
                out.append(alphabet[Int(v >> 18 & 63)])
                out.append(alphabet[Int(v >> 12 & 63)])
                out.append(alphabet[Int(v >> 6 & 63)])
                out.append(alphabet[Int(v & 63)])
                i += 3
            }
            let v = UInt32(bytes[30]) << 16 | UInt32(bytes[31]) << 8
            out.append(alphabet[Int(v >> 18 & 63)])
            out.append(alphabet[Int(v >> 12 & 63)])
            out.append(alphabet[Int(v >> 6 & 63)])
            out.append(UInt8(ascii: "="))
            return String(decoding: out, as: UTF8.self)
        }
    }

    private static func value(_ c: UInt8) -> UInt32? {
        switch c {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): return UInt32(c - UInt8(ascii: "A"))
        case UInt8(ascii: "a")...UInt8(ascii: "z"): return UInt32(c - UInt8(ascii: "a")) + 26
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return UInt32(c - UInt8(ascii: "0")) + 52
        case UInt8(ascii: "+"): return 62
        case UInt8(ascii: "/"): return 63
        default: return nil
        }
    }

    static func decode(_ text: some StringProtocol) -> Bytes32? {
        let chars = Array(text.utf8)
        guard chars.count == 44, chars[43] == UInt8(ascii: "=") else { return nil }
        var out = [UInt8]()
        out.reserveCapacity(33)
        var i = 0
        while i < 44 {
            let c3 = i == 40 ? UInt8(ascii: "A") : chars[i + 3]
            guard let a = value(chars[i]), let b = value(chars[i + 1]),
                  let c = value(chars[i + 2]), let d = value(c3) else { return nil }
            let v = a << 18 | b << 12 | c << 6 | d
            out.append(UInt8(v >> 16 & 0xff))
            out.append(UInt8(v >> 8 & 0xff))
            out.append(UInt8(v & 0xff))
            i += 4
        }
        // The 33rd byte holds the unused low bits of the last character: must be zero.
        guard out.removeLast() == 0 else { return nil }
        return Bytes32(bytes: out)
    }
}

/// Hex for keys on the UAPI socket: lowercase on output, either case on input.
enum HexKey {
    private static let digits = Array("0123456789abcdef".utf8)

    static func encode(_ key: Bytes32) -> String {
        key.withUnsafeBytes { bytes in
            var out = [UInt8]()
            out.reserveCapacity(64)
            for b in bytes {
                out.append(digits[Int(b >> 4)])
                out.append(digits[Int(b & 15)])
            }
            return String(decoding: out, as: UTF8.self)
        }
    }

    static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: return nil
        }
    }

    static func decode(_ text: some StringProtocol) -> Bytes32? {
        let chars = Array(text.utf8)
        guard chars.count == 64 else { return nil }
        var out = [UInt8]()
        out.reserveCapacity(32)
        var i = 0
        while i < 64 {
            guard let hi = nibble(chars[i]), let lo = nibble(chars[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
            i += 2
        }
        return Bytes32(bytes: out)
    }
}

/// Why a key string was refused.
public enum KeyError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Not 44 characters of base64 ending in one `=`, or a character outside the alphabet.
    case invalidBase64
    /// Not 64 hexadecimal digits.
    case invalidHex
    /// The decoded key is not 32 bytes long.
    case wrongLength(Int)

    public var description: String {
        switch self {
        case .invalidBase64: return "invalid key: expected 44 characters of base64 (32 bytes) ending in '='"
        case .invalidHex: return "invalid key: expected 64 hexadecimal digits (32 bytes)"
        case .wrongLength(let n): return "invalid key: expected 32 bytes, got \(n)"
        }
    }
}

/// The shared shape of WireGuard's three 32-byte key kinds.
public protocol WireGuardKey: Hashable, Sendable, CustomStringConvertible {
    var rawValue: Bytes32 { get }
    init(rawValue: Bytes32)
}

extension WireGuardKey {
    /// Parses wg's base64 form: exactly 44 characters, the last one `=`, canonical padding bits.
    public init(base64: some StringProtocol) throws(KeyError) {
        guard let raw = Base64Key.decode(base64) else { throw .invalidBase64 }
        self.init(rawValue: raw)
    }

    /// Parses the UAPI's hex form: exactly 64 hex digits (either case).
    public init(hex: some StringProtocol) throws(KeyError) {
        guard let raw = HexKey.decode(hex) else { throw .invalidHex }
        self.init(rawValue: raw)
    }

    /// Copies exactly 32 bytes.
    public init(bytes: some Collection<UInt8>) throws(KeyError) {
        guard let raw = Bytes32(bytes: bytes) else { throw .wrongLength(bytes.count) }
        self.init(rawValue: raw)
    }

    /// wg's base64 form.
    public var base64: String { Base64Key.encode(rawValue) }
    /// The UAPI's lowercase hex form.
    public var hex: String { HexKey.encode(rawValue) }
    /// True for the all-zero key (wg prints and accepts it as "no key").
    public var isZero: Bool { rawValue.isZero }
}

/// A Curve25519 public key.
public struct PublicKey: WireGuardKey {
    public let rawValue: Bytes32
    public init(rawValue: Bytes32) { self.rawValue = rawValue }
    public var description: String { base64 }
}

/// A Curve25519 private key. Its description never shows the key.
public struct PrivateKey: WireGuardKey {
    public let rawValue: Bytes32
    public init(rawValue: Bytes32) { self.rawValue = rawValue }
    public var description: String { "PrivateKey(redacted)" }

    /// A fresh key from `rng`, clamped as `wg genkey` does (RFC 7748 §5).
    public static func generate(using rng: inout some RandomNumberGenerator) -> PrivateKey {
        var raw = Bytes32()
        raw.withUnsafeMutableBytes { buf in
            for i in stride(from: 0, to: 32, by: 8) {
                buf.storeBytes(of: rng.next() as UInt64, toByteOffset: i, as: UInt64.self)
            }
            buf[0] &= 248
            buf[31] = (buf[31] & 127) | 64
        }
        return PrivateKey(rawValue: raw)
    }

    /// A fresh key from the system's secure random source.
    public static func generate() -> PrivateKey {
        var rng = SystemRandomNumberGenerator()
        return generate(using: &rng)
    }

    /// The matching public key (X25519 with the base point).
    public var publicKey: PublicKey { X25519.publicKey(for: self) }
}

/// A symmetric preshared key mixed into the handshake (Noise psk2). Never shown.
public struct PresharedKey: WireGuardKey {
    public let rawValue: Bytes32
    public init(rawValue: Bytes32) { self.rawValue = rawValue }
    public var description: String { "PresharedKey(redacted)" }

    /// A fresh key from `rng`, as `wg genpsk` makes (32 random bytes, unclamped).
    public static func generate(using rng: inout some RandomNumberGenerator) -> PresharedKey {
        var raw = Bytes32()
        raw.withUnsafeMutableBytes { buf in
            for i in stride(from: 0, to: 32, by: 8) {
                buf.storeBytes(of: rng.next() as UInt64, toByteOffset: i, as: UInt64.self)
            }
        }
        return PresharedKey(rawValue: raw)
    }

    public static func generate() -> PresharedKey {
        var rng = SystemRandomNumberGenerator()
        return generate(using: &rng)
    }
}

/// The four WireGuard message types. The type field is a little-endian u32, so reading it as
/// a u32 also checks that the three reserved bytes are zero (whitepaper §5.4).
public enum MessageType: UInt32, Sendable {
    case handshakeInitiation = 1
    case handshakeResponse = 2
    case cookieReply = 3
    case transportData = 4

    /// The type of a datagram, or nil when it is too short or its type field is unknown.
    @inlinable public static func of(_ datagram: UnsafeRawBufferPointer) -> MessageType? {
        guard datagram.count >= 4 else { return nil }
        return MessageType(rawValue: UInt32(littleEndian: datagram.loadUnaligned(as: UInt32.self)))
    }

    /// The exact length of a handshake message, or the minimum length of a transport message.
    public var length: Int {
        switch self {
        case .handshakeInitiation: HandshakeInitiation.length
        case .handshakeResponse: HandshakeResponse.length
        case .cookieReply: CookieReply.length
        case .transportData: TransportHeader.length + WireGuardConstants.tagLength
        }
    }
}

/// Little-endian field access on raw buffers (all WireGuard integers are little endian
/// except the TAI64N timestamp, which is big endian).
extension UnsafeRawBufferPointer {
    @inlinable func loadLE32(at offset: Int) -> UInt32 {
        UInt32(littleEndian: loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }
    @inlinable func loadLE64(at offset: Int) -> UInt64 {
        UInt64(littleEndian: loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }
    @inlinable func bytes32(at offset: Int) -> Bytes32 {
        Bytes32(filling: { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: self[offset..<offset + 32])) })
    }
    @inlinable func bytes16(at offset: Int) -> Bytes16 {
        Bytes16(filling: { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: self[offset..<offset + 16])) })
    }
    @inlinable func slice(_ offset: Int, _ count: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: self[offset..<offset + count])
    }
}

extension UnsafeMutableRawBufferPointer {
    @inlinable func storeLE32(_ v: UInt32, at offset: Int) {
        storeBytes(of: v.littleEndian, toByteOffset: offset, as: UInt32.self)
    }
    @inlinable func storeLE64(_ v: UInt64, at offset: Int) {
        storeBytes(of: v.littleEndian, toByteOffset: offset, as: UInt64.self)
    }
    @inlinable func store(_ bytes: some ReadableBytes, at offset: Int) {
        bytes.withUnsafeBytes { src in
            UnsafeMutableRawBufferPointer(rebasing: self[offset..<offset + src.count]).copyMemory(from: src)
        }
    }
    @inlinable func slice(_ offset: Int, _ count: Int) -> UnsafeMutableRawBufferPointer {
        UnsafeMutableRawBufferPointer(rebasing: self[offset..<offset + count])
    }
}

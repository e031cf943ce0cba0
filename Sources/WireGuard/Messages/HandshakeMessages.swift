/// Handshake initiation, 148 bytes (whitepaper §5.4.2):
/// type(4) ‖ sender(4) ‖ ephemeral(32) ‖ static(32+16) ‖ timestamp(12+16) ‖ mac1(16) ‖ mac2(16)
public struct HandshakeInitiation: Equatable, Sendable {
    public static let length = 148
    public var sender: UInt32
    public var ephemeral: Bytes32
    public var encryptedStatic: FixedBytes<48>
    public var encryptedTimestamp: FixedBytes<28>
    public var mac1: Bytes16
    public var mac2: Bytes16

    public init(sender: UInt32, ephemeral: Bytes32, encryptedStatic: FixedBytes<48>,
                encryptedTimestamp: FixedBytes<28>, mac1: Bytes16 = .zero, mac2: Bytes16 = .zero) {
        self.sender = sender
        self.ephemeral = ephemeral
        self.encryptedStatic = encryptedStatic
        self.encryptedTimestamp = encryptedTimestamp
        self.mac1 = mac1
        self.mac2 = mac2
    }

    /// Parses exactly 148 bytes of type 1 (reserved bytes zero); nil for anything else.
    public init?(_ b: UnsafeRawBufferPointer) {
        guard b.count == Self.length, MessageType.of(b) == .handshakeInitiation else { return nil }
        sender = b.loadLE32(at: 4)
        ephemeral = b.bytes32(at: 8)
        encryptedStatic = FixedBytes(filling: { $0.copyMemory(from: b.slice(40, 48)) })
        encryptedTimestamp = FixedBytes(filling: { $0.copyMemory(from: b.slice(88, 28)) })
        mac1 = b.bytes16(at: 116)
        mac2 = b.bytes16(at: 132)
    }

    /// Writes all 148 bytes; `out.count` must be at least 148.
    public func write(to out: UnsafeMutableRawBufferPointer) {
        out.storeLE32(MessageType.handshakeInitiation.rawValue, at: 0)
        out.storeLE32(sender, at: 4)
        out.store(ephemeral, at: 8)
        out.store(encryptedStatic, at: 40)
        out.store(encryptedTimestamp, at: 88)
        out.store(mac1, at: 116)
        out.store(mac2, at: 132)
    }
}

/// Handshake response, 92 bytes (whitepaper §5.4.3):
/// type(4) ‖ sender(4) ‖ receiver(4) ‖ ephemeral(32) ‖ empty(0+16) ‖ mac1(16) ‖ mac2(16)
public struct HandshakeResponse: Equatable, Sendable {
    public static let length = 92
    public var sender: UInt32
    public var receiver: UInt32
    public var ephemeral: Bytes32
    public var encryptedNothing: Bytes16
    public var mac1: Bytes16
    public var mac2: Bytes16

    public init(sender: UInt32, receiver: UInt32, ephemeral: Bytes32, encryptedNothing: Bytes16,
                mac1: Bytes16 = .zero, mac2: Bytes16 = .zero) {
        self.sender = sender
        self.receiver = receiver
        self.ephemeral = ephemeral
        self.encryptedNothing = encryptedNothing
        self.mac1 = mac1
        self.mac2 = mac2
    }

    public init?(_ b: UnsafeRawBufferPointer) {
        guard b.count == Self.length, MessageType.of(b) == .handshakeResponse else { return nil }
        sender = b.loadLE32(at: 4)
        receiver = b.loadLE32(at: 8)
        ephemeral = b.bytes32(at: 12)
        encryptedNothing = b.bytes16(at: 44)
        mac1 = b.bytes16(at: 60)
        mac2 = b.bytes16(at: 76)
    }

    public func write(to out: UnsafeMutableRawBufferPointer) {
        out.storeLE32(MessageType.handshakeResponse.rawValue, at: 0)
        out.storeLE32(sender, at: 4)
        out.storeLE32(receiver, at: 8)
        out.store(ephemeral, at: 12)
        out.store(encryptedNothing, at: 44)
        out.store(mac1, at: 60)
        out.store(mac2, at: 76)
    }
}

/// Cookie reply, 64 bytes (whitepaper §5.4.7):
/// type(4) ‖ receiver(4) ‖ nonce(24) ‖ cookie(16+16)
public struct CookieReply: Equatable, Sendable {
    public static let length = 64
    public var receiver: UInt32
    public var nonce: Bytes24
    public var encryptedCookie: FixedBytes<32>

    public init(receiver: UInt32, nonce: Bytes24, encryptedCookie: FixedBytes<32>) {
        self.receiver = receiver
        self.nonce = nonce
        self.encryptedCookie = encryptedCookie
    }

    public init?(_ b: UnsafeRawBufferPointer) {
        guard b.count == Self.length, MessageType.of(b) == .cookieReply else { return nil }
        receiver = b.loadLE32(at: 4)
        nonce = Bytes24(filling: { $0.copyMemory(from: b.slice(8, 24)) })
        encryptedCookie = b.bytes32(at: 32)
    }

    public func write(to out: UnsafeMutableRawBufferPointer) {
        out.storeLE32(MessageType.cookieReply.rawValue, at: 0)
        out.storeLE32(receiver, at: 4)
        out.store(nonce, at: 8)
        out.store(encryptedCookie, at: 32)
    }
}

/// The 16-byte header of a transport data message (whitepaper §5.4.6):
/// type(4) ‖ receiver(4) ‖ counter(8), followed by the encrypted, padded packet and its tag.
public struct TransportHeader: Equatable, Sendable {
    public static let length = 16
    public var receiver: UInt32
    public var counter: UInt64

    public init(receiver: UInt32, counter: UInt64) {
        self.receiver = receiver
        self.counter = counter
    }

    /// Parses the header of a transport message of at least 32 bytes (header and tag).
    @inlinable public init?(_ b: UnsafeRawBufferPointer) {
        guard b.count >= TransportHeader.length + WireGuardConstants.tagLength,
              MessageType.of(b) == .transportData else { return nil }
        receiver = b.loadLE32(at: 4)
        counter = b.loadLE64(at: 8)
    }

    @inlinable public func write(to out: UnsafeMutableRawBufferPointer) {
        out.storeLE32(MessageType.transportData.rawValue, at: 0)
        out.storeLE32(receiver, at: 4)
        out.storeLE64(counter, at: 8)
    }
}

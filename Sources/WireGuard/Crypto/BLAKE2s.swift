/// BLAKE2s (RFC 7693): WireGuard's HASH with a 32-byte output and, keyed with a 16-byte output,
/// its MAC (whitepaper §5.4). Incremental and allocation-free: the state is eight words, one
/// 64-byte block of input not yet compressed, and a byte counter.
///
/// Out-of-range arguments do not trap: `outputByteCount` is clamped to 1...32 and a key longer
/// than 32 bytes is cut to its first 32.
public struct BLAKE2s: Sendable {
    static let blockByteCount = 64
    static let maxOutputByteCount = 32
    static let maxKeyByteCount = 32

    /// The digest length in bytes, 1...32.
    public let outputByteCount: Int
    private var h: InlineArray<8, UInt32>
    /// Input not yet compressed. It is never compressed before more input arrives, because the
    /// last block must be compressed with the final flag.
    private var block: InlineArray<64, UInt8>
    private var blockFill: Int
    private var byteCount: UInt64

    public init(outputByteCount: Int = 32) {
        self.init(outputByteCount: outputByteCount, keyByteCount: 0)
    }

    /// Keyed BLAKE2s. `key` should be 1...32 bytes (an empty key gives unkeyed BLAKE2s).
    public init(outputByteCount: Int, key: UnsafeRawBufferPointer) {
        let keyByteCount = min(key.count, Self.maxKeyByteCount)
        self.init(outputByteCount: outputByteCount, keyByteCount: keyByteCount)
        if keyByteCount > 0 {
            // The key, zero-padded, is the first block (RFC 7693 §3.3).
            buffer(UnsafeRawBufferPointer(rebasing: key[..<keyByteCount]))
            blockFill = Self.blockByteCount
        }
    }

    private init(outputByteCount: Int, keyByteCount: Int) {
        let n = min(max(outputByteCount, 1), Self.maxOutputByteCount)
        self.outputByteCount = n
        h = Self.iv
        // Parameter block: digest length, key length, fanout 1, depth 1 (RFC 7693 §2.5).
        h[0] ^= 0x0101_0000 ^ (UInt32(keyByteCount) << 8) ^ UInt32(n)
        block = InlineArray(repeating: 0)
        blockFill = 0
        byteCount = 0
    }

    public mutating func update(_ data: UnsafeRawBufferPointer) {
        guard data.count > 0 else { return }
        var rest = data
        let room = Self.blockByteCount - blockFill
        if rest.count > room {
            buffer(UnsafeRawBufferPointer(rebasing: rest[..<room]))
            rest = UnsafeRawBufferPointer(rebasing: rest[room...])
            compressBufferedBlock(last: false)
            // Whole blocks straight from the input, keeping the last one back.
            while rest.count > Self.blockByteCount {
                byteCount &+= UInt64(Self.blockByteCount)
                Self.compress(&h, UnsafeRawBufferPointer(rebasing: rest[..<Self.blockByteCount]),
                              counter: byteCount, last: false)
                rest = UnsafeRawBufferPointer(rebasing: rest[Self.blockByteCount...])
            }
        }
        buffer(rest)
    }

    public mutating func update(_ data: some ReadableBytes) {
        data.withUnsafeBytes { update($0) }
    }

    /// Writes the digest: `outputByteCount` bytes, or fewer if `out` is shorter. The state is
    /// wiped afterwards; start a new `BLAKE2s` to hash something else.
    public mutating func finalize(into out: UnsafeMutableRawBufferPointer) {
        let fill = blockFill
        withUnsafeMutableBytes(of: &block) { b in
            for i in fill..<Self.blockByteCount { b[i] = 0 }
        }
        compressBufferedBlock(last: true)
        var digest = Bytes32()
        digest.withUnsafeMutableBytes { d in
            for i in 0..<8 { d.storeLittleEndian(h[i], at: 4 * i) }
            let n = min(out.count, outputByteCount)
            out.copyMemory(from: UnsafeRawBufferPointer(rebasing: d[..<n]))
        }
        digest.zeroize()
        h = InlineArray(repeating: 0)
        block = InlineArray(repeating: 0)
    }

    /// HASH(a): BLAKE2s-256.
    public static func hash(_ a: some ReadableBytes) -> Bytes32 {
        var state = BLAKE2s()
        state.update(a)
        return Bytes32 { state.finalize(into: $0) }
    }

    /// HASH(a ‖ b), without joining the two.
    public static func hash(_ a: some ReadableBytes, _ b: some ReadableBytes) -> Bytes32 {
        var state = BLAKE2s()
        state.update(a)
        state.update(b)
        return Bytes32 { state.finalize(into: $0) }
    }

    /// WireGuard's MAC(key, data): keyed BLAKE2s with a 16-byte output (not HMAC).
    public static func mac(key: some ReadableBytes, _ data: some ReadableBytes) -> Bytes16 {
        var state = key.withUnsafeBytes { BLAKE2s(outputByteCount: Bytes16.byteCount, key: $0) }
        state.update(data)
        return Bytes16 { state.finalize(into: $0) }
    }

    private mutating func buffer(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count > 0 else { return }
        let start = blockFill
        withUnsafeMutableBytes(of: &block) { b in
            UnsafeMutableRawBufferPointer(rebasing: b[start..<start + bytes.count]).copyMemory(from: bytes)
        }
        blockFill += bytes.count
    }

    private mutating func compressBufferedBlock(last: Bool) {
        byteCount &+= UInt64(blockFill)
        let counter = byteCount
        var state = h
        withUnsafeBytes(of: &block) { Self.compress(&state, $0, counter: counter, last: last) }
        h = state
        blockFill = 0
    }

    /// The compression function F (RFC 7693 §3.2) on one 64-byte block.
    private static func compress(_ h: inout InlineArray<8, UInt32>, _ block: UnsafeRawBufferPointer,
                                 counter: UInt64, last: Bool) {
        var m = ARXState(repeating: 0)
        for i in 0..<16 { m[i] = block.littleEndianWord(at: 4 * i) }
        var v = ARXState(repeating: 0)
        for i in 0..<8 {
            v[i] = h[i]
            v[i + 8] = iv[i]
        }
        v[12] ^= UInt32(truncatingIfNeeded: counter)
        v[13] ^= UInt32(truncatingIfNeeded: counter >> 32)
        if last { v[14] = ~v[14] }
        for round in 0..<10 {
            var w = ARXState(repeating: 0)
            for i in 0..<16 { w[i] = m[Int(sigma[16 * round + i])] }
            ARX.doubleRound(&v, adding: w, ARX.blake2s)
        }
        for i in 0..<8 { h[i] ^= v[i] ^ v[i + 8] }
    }

    private static let iv: InlineArray<8, UInt32> = [
        0x6A09_E667, 0xBB67_AE85, 0x3C6E_F372, 0xA54F_F53A,
        0x510E_527F, 0x9B05_688C, 0x1F83_D9AB, 0x5BE0_CD19,
    ]

    /// The message word order of each of the ten rounds (RFC 7693 §2.7).
    private static let sigma: InlineArray<160, UInt8> = [
        0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
        14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3,
        11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4,
        7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8,
        9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13,
        2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9,
        12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11,
        13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10,
        6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5,
        10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0,
    ]
}

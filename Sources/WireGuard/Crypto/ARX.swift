/// The add-rotate-xor core that ChaCha and BLAKE2s share. BLAKE2s's round is ChaCha's double
/// round (a mix step on the four columns, then on the four diagonals of a 4×4 word state)
/// with two message words added in each step and other rotation distances.
typealias ARXState = InlineArray<16, UInt32>

enum ARX {
    /// Right-rotation distances of the four rotations in one mix step.
    struct Rotations {
        let r1, r2, r3, r4: UInt32
    }

    /// ChaCha rotates left by 16, 12, 8, 7 (RFC 8439 §2.1), that is right by 16, 20, 24, 25.
    static let chacha = Rotations(r1: 16, r2: 20, r3: 24, r4: 25)
    /// BLAKE2s's G rotates right by 16, 12, 8, 7 (RFC 7693 §3.1).
    static let blake2s = Rotations(r1: 16, r2: 12, r3: 8, r4: 7)

    /// Columns then diagonals; step `i` adds words `w[2i]` and `w[2i + 1]` (zero for ChaCha).
    @inline(__always)
    static func doubleRound(_ v: inout ARXState, adding w: ARXState, _ r: Rotations) {
        mix(&v, 0, 4, 8, 12, w[0], w[1], r)
        mix(&v, 1, 5, 9, 13, w[2], w[3], r)
        mix(&v, 2, 6, 10, 14, w[4], w[5], r)
        mix(&v, 3, 7, 11, 15, w[6], w[7], r)
        mix(&v, 0, 5, 10, 15, w[8], w[9], r)
        mix(&v, 1, 6, 11, 12, w[10], w[11], r)
        mix(&v, 2, 7, 8, 13, w[12], w[13], r)
        mix(&v, 3, 4, 9, 14, w[14], w[15], r)
    }

    @inline(__always)
    private static func mix(_ v: inout ARXState, _ a: Int, _ b: Int, _ c: Int, _ d: Int,
                            _ x: UInt32, _ y: UInt32, _ r: Rotations) {
        v[a] = v[a] &+ v[b] &+ x
        v[d] = (v[d] ^ v[a]).rotatedRight(by: r.r1)
        v[c] = v[c] &+ v[d]
        v[b] = (v[b] ^ v[c]).rotatedRight(by: r.r2)
        v[a] = v[a] &+ v[b] &+ y
        v[d] = (v[d] ^ v[a]).rotatedRight(by: r.r3)
        v[c] = v[c] &+ v[d]
        v[b] = (v[b] ^ v[c]).rotatedRight(by: r.r4)
    }
}

extension UInt32 {
    @inline(__always)
    func rotatedRight(by n: UInt32) -> UInt32 { (self &>> n) | (self &<< (32 &- n)) }
}

extension UnsafeRawBufferPointer {
    /// The little-endian word at `offset` (both ChaCha and BLAKE2s read their input so).
    @inline(__always)
    func littleEndianWord(at offset: Int) -> UInt32 {
        UInt32(littleEndian: loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }
}

extension UnsafeMutableRawBufferPointer {
    @inline(__always)
    func storeLittleEndian(_ word: UInt32, at offset: Int) {
        storeBytes(of: word.littleEndian, toByteOffset: offset, as: UInt32.self)
    }
}

/// HChaCha20 (draft-irtf-cfrg-xchacha-03 §2.2): ChaCha20's 20 rounds on the key and a 16-byte
/// nonce, without the final addition; the first and last rows of the state are the subkey.
public enum HChaCha20 {
    public static func subkey(key: Bytes32, nonce: Bytes16) -> Bytes32 {
        // "expand 32-byte k"
        var v: ARXState = [0x6170_7865, 0x3320_646e, 0x7962_2d32, 0x6b20_6574, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
        key.withUnsafeBytes { k in
            for i in 0..<8 { v[4 + i] = k.littleEndianWord(at: 4 * i) }
        }
        nonce.withUnsafeBytes { n in
            for i in 0..<4 { v[12 + i] = n.littleEndianWord(at: 4 * i) }
        }
        let noWords = ARXState(repeating: 0)
        for _ in 0..<10 { ARX.doubleRound(&v, adding: noWords, ARX.chacha) }
        let subkey = Bytes32 { out in
            for i in 0..<4 {
                out.storeLittleEndian(v[i], at: 4 * i)
                out.storeLittleEndian(v[12 + i], at: 16 + 4 * i)
            }
        }
        v = ARXState(repeating: 0)
        return subkey
    }
}

/// HMAC (RFC 2104) over BLAKE2s-256 with its 64-byte block: WireGuard's HMAC, on which its
/// KDF is built (whitepaper §5.4). Not the MAC of mac1/mac2, which is keyed BLAKE2s.
public enum HMACBLAKE2s {
    public static func authenticate(key: some ReadableBytes, _ data: some ReadableBytes) -> Bytes32 {
        key.withUnsafeBytes { k in
            data.withUnsafeBytes { d in
                var mac = State(key: k)
                mac.update(d)
                return mac.finalize()
            }
        }
    }

    /// Incremental HMAC, so the KDF can authenticate `previous output ‖ counter` without
    /// joining them in a buffer.
    struct State {
        private var inner: BLAKE2s
        private var outer: BLAKE2s

        /// A key longer than the block is hashed first, as RFC 2104 says.
        init(key: UnsafeRawBufferPointer) {
            var pad = FixedBytes<64>()
            pad.withUnsafeMutableBytes { p in
                if key.count > BLAKE2s.blockByteCount {
                    var keyHash = BLAKE2s()
                    keyHash.update(key)
                    keyHash.finalize(into: UnsafeMutableRawBufferPointer(rebasing: p[..<Bytes32.byteCount]))
                } else if key.count > 0 {
                    UnsafeMutableRawBufferPointer(rebasing: p[..<key.count]).copyMemory(from: key)
                }
                for i in p.indices { p[i] ^= 0x36 }
            }
            var inner = BLAKE2s()
            inner.update(pad)
            pad.withUnsafeMutableBytes { p in
                for i in p.indices { p[i] ^= 0x36 ^ 0x5c }
            }
            var outer = BLAKE2s()
            outer.update(pad)
            pad.zeroize()
            self.inner = inner
            self.outer = outer
        }

        mutating func update(_ data: UnsafeRawBufferPointer) {
            inner.update(data)
        }

        mutating func finalize() -> Bytes32 {
            var innerHash = Bytes32 { inner.finalize(into: $0) }
            outer.update(innerHash)
            innerHash.zeroize()
            return Bytes32 { outer.finalize(into: $0) }
        }
    }
}

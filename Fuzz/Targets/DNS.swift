import FerryDNS

/// DNS messages as the coordinator's resolver and `ferry doctor` read them from the network:
/// `DNSMessage(parsing:)` on arbitrary bytes (the first byte also picks a limit for
/// `encode`), then the TCP framer fed the same bytes in two pieces.
/// Invariants: whatever parses encodes to bytes that parse again, and encoding that is
/// stable (a second round gives the same bytes); an encoding fits its limit, or holds no
/// more than the header and questions; the header of anything of 12 bytes or more is read.
func fuzzDNS(_ data: UnsafeRawBufferPointer) {
    let bytes = Array(data)
    if bytes.count >= 12 { require(DNSMessage.header(of: bytes) != nil, "a 12-byte header not read") }
    if let message = try? DNSMessage(parsing: bytes) {
        let limit = 12 + Int(bytes.first ?? 0) * 4
        for cap in [65535, limit] {
            let encoded = message.encode(limit: cap)
            guard let again = try? DNSMessage(parsing: encoded) else {
                require(false, "the encoding of a parsed message does not parse (limit \(cap)): \(encoded)")
                return
            }
            let second = again.encode(limit: cap)
            require(second == encoded, "encoding is not stable (limit \(cap)): \(encoded) then \(second)")
            let questionsOnly = DNSMessage(id: message.id, flags: message.flags, questions: message.questions).encode()
            require(encoded.count <= cap || encoded.count <= questionsOnly.count + optLength(message),
                    "an encoding of \(encoded.count) bytes over its limit \(cap)")
        }
    }
    var framer = DNSTCPFramer()
    let cut = bytes.isEmpty ? 0 : Int(bytes[0]) % (bytes.count + 1)
    framer.append(bytes[..<cut])
    var taken = 0
    while let message = framer.next() { taken += 2 + message.count }
    framer.append(bytes[cut...])
    while let message = framer.next() { taken += 2 + message.count }
    require(taken <= bytes.count, "the framer handed out \(taken) bytes of \(bytes.count)")
}

/// The bytes of the message's first OPT record, which `encode` always writes.
private func optLength(_ message: DNSMessage) -> Int {
    guard let opt = message.additional.first(where: { $0.type == DNSType.opt }) else { return 0 }
    return DNSMessage(id: 0, additional: [opt]).encode().count - 12
}

import WireGuard

/// The four WireGuard messages: whatever parses writes back to the same bytes.
func fuzzMessages(_ data: UnsafeRawBufferPointer) {
    _ = MessageType.of(data)
    roundTrip(data, HandshakeInitiation.length, HandshakeInitiation.init, { $0.write(to: $1) })
    roundTrip(data, HandshakeResponse.length, HandshakeResponse.init, { $0.write(to: $1) })
    roundTrip(data, CookieReply.length, CookieReply.init, { $0.write(to: $1) })
    roundTrip(data, TransportHeader.length, TransportHeader.init, { $0.write(to: $1) })
}

private func roundTrip<M: Equatable>(_ data: UnsafeRawBufferPointer, _ length: Int,
                                     _ parse: (UnsafeRawBufferPointer) -> M?, _ write: (M, UnsafeMutableRawBufferPointer) -> Void) {
    guard let message = parse(data) else { return }
    require(data.count >= length, "\(M.self) parsed from \(data.count) bytes")
    // A transport header parses only with room for the tag behind it.
    var out = [UInt8](repeating: 0, count: max(length, TransportHeader.length + 16))
    out.withUnsafeMutableBytes { write(message, $0) }
    let again = out.withUnsafeBytes { parse($0) }
    require(again == message, "\(M.self) does not survive write and parse")
}

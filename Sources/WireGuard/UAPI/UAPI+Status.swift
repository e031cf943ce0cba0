extension UAPI {
    /// The complete answer to `get=1` in wireguard-go's order and format (device/uapi.go
    /// IpcGetOperation), ending with `errno=0` and the empty line.
    public static func render(_ status: UAPIDeviceStatus) -> String {
        var w = UAPIWriter()
        if let key = status.privateKey, !key.isZero { w.key(UAPIKey.privateKey, key) }
        if status.listenPort != 0 { w.line(UAPIKey.listenPort, status.listenPort) }
        if status.fwmark != 0 { w.line(UAPIKey.fwmark, status.fwmark) }
        for peer in status.peers {
            w.key(UAPIKey.publicKey, peer.publicKey)
            w.key(UAPIKey.presharedKey, peer.presharedKey ?? PresharedKey(rawValue: .zero))
            w.line(UAPIKey.protocolVersion, peer.protocolVersion)
            if let e = peer.endpoint { w.line(UAPIKey.endpoint, e) }
            w.line(UAPIKey.lastHandshakeTimeSec, peer.lastHandshakeTimeSec)
            w.line(UAPIKey.lastHandshakeTimeNsec, peer.lastHandshakeTimeNsec)
            w.line(UAPIKey.txBytes, peer.txBytes)
            w.line(UAPIKey.rxBytes, peer.rxBytes)
            w.line(UAPIKey.persistentKeepaliveInterval, peer.persistentKeepaliveInterval)
            for prefix in peer.allowedIPs { w.line(UAPIKey.allowedIP, prefix) }
        }
        return w.text + response(errno: 0)
    }

    /// Parses the daemon's answer to `get=1`, including its `errno=` line and the empty
    /// line. Throws `.daemonError` when errno is not 0. Unknown keys are ignored, as `wg`
    /// ignores them; known keys must have valid values and be in their section.
    public static func parseStatus(_ text: String) throws(UAPIError) -> UAPIDeviceStatus {
        let lines = try responseLines(text)
        var status = UAPIDeviceStatus()
        var peer: UAPIPeerStatus?
        for line in lines.dropLast() {
            switch line.key {
            case UAPIKey.publicKey:
                if let p = peer { status.peers.append(p) }
                peer = UAPIPeerStatus(publicKey: try UAPIText.key(line, as: PublicKey.self))
            case UAPIKey.privateKey, UAPIKey.listenPort, UAPIKey.fwmark:
                guard peer == nil else { throw UAPIError(.unexpectedKey(line.safeKey), line: line.number) }
                try deviceStatusLine(line, into: &status)
            default:
                if peer != nil {
                    try peerStatusLine(line, into: &peer)
                } else if UAPIKey.peerKeys.contains(String(line.key)) || statusOnlyPeerKeys.contains(String(line.key)) {
                    throw UAPIError(.unexpectedKey(line.safeKey), line: line.number)
                }
            }
        }
        if let p = peer { status.peers.append(p) }
        return status
    }

    private static let statusOnlyPeerKeys: Set<String> = [
        UAPIKey.lastHandshakeTimeSec, UAPIKey.lastHandshakeTimeNsec, UAPIKey.txBytes, UAPIKey.rxBytes,
    ]

    private static func deviceStatusLine(_ line: UAPILine, into status: inout UAPIDeviceStatus) throws(UAPIError) {
        switch line.key {
        case UAPIKey.privateKey: status.privateKey = try UAPIText.key(line, as: PrivateKey.self)
        case UAPIKey.listenPort: status.listenPort = UInt16(try UAPIText.number(line, max: UInt64(UInt16.max)))
        default: status.fwmark = UInt32(try UAPIText.number(line, max: UInt64(UInt32.max)))
        }
    }

    private static func peerStatusLine(_ line: UAPILine, into peer: inout UAPIPeerStatus?) throws(UAPIError) {
        switch line.key {
        case UAPIKey.presharedKey:
            let k = try UAPIText.key(line, as: PresharedKey.self)
            peer?.presharedKey = k.isZero ? nil : k
        case UAPIKey.protocolVersion: peer?.protocolVersion = UInt32(try UAPIText.number(line, max: UInt64(UInt32.max)))
        case UAPIKey.endpoint: peer?.endpoint = try UAPIText.endpoint(line)
        case UAPIKey.lastHandshakeTimeSec: peer?.lastHandshakeTimeSec = Int64(try UAPIText.number(line, max: UInt64(Int64.max)))
        case UAPIKey.lastHandshakeTimeNsec: peer?.lastHandshakeTimeNsec = Int64(try UAPIText.number(line, max: UInt64(Int64.max)))
        case UAPIKey.txBytes: peer?.txBytes = try UAPIText.number(line, max: .max)
        case UAPIKey.rxBytes: peer?.rxBytes = try UAPIText.number(line, max: .max)
        case UAPIKey.persistentKeepaliveInterval:
            peer?.persistentKeepaliveInterval = UInt16(try UAPIText.number(line, max: UInt64(UInt16.max)))
        case UAPIKey.allowedIP: peer?.allowedIPs.append(try UAPIText.allowedIP(line))
        default: break
        }
    }

    /// `errno=N` and the empty line: the end of every answer. wireguard-go writes 0 for
    /// success and the negated errno otherwise (`errno=-22`).
    public static func response(errno: Int64) -> String { "errno=\(errno)\n\n" }

    /// The answer for a request that failed with `error` (nil: success).
    public static func response(_ error: UAPIError?) -> String {
        response(errno: error.map { -Int64($0.errno) } ?? 0)
    }

    /// Client side: the length of the first complete answer at the start of `bytes` (up to
    /// and including its empty line), or nil while it is still incomplete. Every answer,
    /// to `get` or `set`, ends at its first empty line.
    public static func answerLength(_ bytes: [UInt8]) -> Int? {
        endOfMessage(bytes, from: 0)?.next
    }

    /// Parses the daemon's answer to `set=1` (`errno=N` and the empty line); throws
    /// `.daemonError(N)` when N is not 0.
    public static func parseSetResponse(_ text: String) throws(UAPIError) {
        let lines = try responseLines(text)
        guard lines.count == 1 else { throw UAPIError(.unexpectedKey(lines[0].safeKey), line: 1) }
    }

    /// The `key=value` lines of an answer; the last one is `errno=0` (else this throws).
    private static func responseLines(_ text: String) throws(UAPIError) -> [UAPILine] {
        let bytes = Array(text.utf8)
        guard let end = endOfMessage(bytes, from: 0) else { throw UAPIError(.incomplete) }
        guard end.next == bytes.count else { throw UAPIError(.trailingData) }
        let lines = try UAPIText.lines(bytes[0..<end.blankLine], firstNumber: 1)
        guard let last = lines.last, last.key == UAPIKey.errno else { throw UAPIError(.incomplete) }
        guard let code = errnoValue(last.value) else { throw last.invalid() }
        guard code == 0 else { throw UAPIError(.daemonError(code), line: last.number) }
        return lines
    }

    /// `0`, `-22` or `22`: an optional minus and decimal digits fitting an Int32.
    private static func errnoValue(_ s: Substring) -> Int64? {
        let negative = s.hasPrefix("-")
        guard let n = UAPIText.unsigned(negative ? s.dropFirst() : s, max: UInt64(Int32.max) + 1) else { return nil }
        return negative ? -Int64(n) : (n <= UInt64(Int32.max) ? Int64(n) : nil)
    }
}

/// The UAPI text codec (https://www.wireguard.com/xplatform/), behaving as wireguard-go's
/// device/uapi.go, except that a request is validated completely before anything is
/// applied: an error leaves the configuration exactly as it was.
public enum UAPI {
    static let getLine = Array("get=1\n".utf8)
    static let setLine = Array("set=1\n".utf8)

    /// Parses one complete request: `get=1\n\n`, or `set=1\n`, `key=value` lines and an
    /// empty line. Nothing may follow the empty line.
    public static func parse(_ text: String) throws(UAPIError) -> UAPIRequest {
        try parse(bytes: Array(text.utf8))
    }

    /// Parses one complete request from its bytes (see `parse(_:)`).
    public static func parse(bytes: [UInt8]) throws(UAPIError) -> UAPIRequest {
        guard bytes.count >= 6 else {
            throw UAPIError(getLine.starts(with: bytes) || setLine.starts(with: bytes) ? .incomplete : .invalidOperation, line: 1)
        }
        if bytes.starts(with: getLine) {
            guard bytes.count > 6 else { throw UAPIError(.incomplete, line: 1) }
            guard bytes[6] == UInt8(ascii: "\n") else { throw UAPIError(.trailingCharacterAfterGet, line: 2) }
            guard bytes.count == 7 else { throw UAPIError(.trailingData, line: 3) }
            return .get
        }
        guard bytes.starts(with: setLine) else { throw UAPIError(.invalidOperation, line: 1) }
        guard let end = endOfMessage(bytes, from: 6) else { throw UAPIError(.incomplete) }
        guard end.next == bytes.count else { throw UAPIError(.trailingData) }
        return .set(try parseSetBody(bytes[6..<end.blankLine]))
    }

    /// Parses the lines of a `set=1` request (without the operation line and the ending
    /// empty line).
    static func parseSetBody(_ body: some Collection<UInt8>) throws(UAPIError) -> UAPISetRequest {
        var request = UAPISetRequest()
        var peer: UAPISetRequest.Peer?
        for line in try UAPIText.lines(body, firstNumber: 2) {
            if line.key == UAPIKey.publicKey {
                if let p = peer { request.peers.append(p) }
                peer = UAPISetRequest.Peer(publicKey: try UAPIText.key(line, as: PublicKey.self))
            } else if peer != nil {
                peer?.changes.append(try peerChange(line))
            } else {
                request.device.append(try deviceChange(line))
            }
        }
        if let p = peer { request.peers.append(p) }
        return request
    }

    private static func deviceChange(_ line: UAPILine) throws(UAPIError) -> UAPISetRequest.DeviceChange {
        switch line.key {
        case UAPIKey.privateKey: return .privateKey(try UAPIText.key(line, as: PrivateKey.self))
        case UAPIKey.listenPort: return .listenPort(UInt16(try UAPIText.number(line, max: UInt64(UInt16.max))))
        case UAPIKey.fwmark: return .fwmark(UInt32(try UAPIText.number(line, max: UInt64(UInt32.max))))
        case UAPIKey.replacePeers: try UAPIText.flag(line); return .replacePeers
        default: throw UAPIError(.unknownDeviceKey(line.safeKey), line: line.number)
        }
    }

    private static func peerChange(_ line: UAPILine) throws(UAPIError) -> UAPISetRequest.PeerChange {
        switch line.key {
        case UAPIKey.remove: try UAPIText.flag(line); return .remove
        case UAPIKey.updateOnly: try UAPIText.flag(line); return .updateOnly
        case UAPIKey.presharedKey: return .presharedKey(try UAPIText.key(line, as: PresharedKey.self))
        case UAPIKey.endpoint: return .endpoint(try UAPIText.endpoint(line))
        case UAPIKey.persistentKeepaliveInterval:
            return .persistentKeepaliveInterval(UInt16(try UAPIText.number(line, max: UInt64(UInt16.max))))
        case UAPIKey.replaceAllowedIPs: try UAPIText.flag(line); return .replaceAllowedIPs
        case UAPIKey.allowedIP:
            if line.value.hasPrefix("-") {
                let rest = UAPILine(key: line.key, value: line.value.dropFirst(), number: line.number)
                return .removeAllowedIP(try UAPIText.allowedIP(rest))
            }
            return .addAllowedIP(try UAPIText.allowedIP(line))
        case UAPIKey.protocolVersion:
            guard line.value == "1" else { throw line.invalid() }
            return .protocolVersion
        default: throw UAPIError(.unknownPeerKey(line.safeKey), line: line.number)
        }
    }

    /// The text of a `set=1` request, ending with the empty line; changes in their order.
    public static func render(_ request: UAPISetRequest) -> String {
        var w = UAPIWriter(text: "set=1\n")
        for change in request.device {
            switch change {
            case .privateKey(let k): w.key(UAPIKey.privateKey, k)
            case .listenPort(let p): w.line(UAPIKey.listenPort, p)
            case .fwmark(let m): w.line(UAPIKey.fwmark, m)
            case .replacePeers: w.line(UAPIKey.replacePeers, "true")
            }
        }
        for peer in request.peers {
            w.key(UAPIKey.publicKey, peer.publicKey)
            for change in peer.changes {
                switch change {
                case .remove: w.line(UAPIKey.remove, "true")
                case .updateOnly: w.line(UAPIKey.updateOnly, "true")
                case .presharedKey(let k): w.key(UAPIKey.presharedKey, k)
                case .endpoint(let e): w.line(UAPIKey.endpoint, e)
                case .persistentKeepaliveInterval(let s): w.line(UAPIKey.persistentKeepaliveInterval, s)
                case .replaceAllowedIPs: w.line(UAPIKey.replaceAllowedIPs, "true")
                case .addAllowedIP(let p): w.line(UAPIKey.allowedIP, p)
                case .removeAllowedIP(let p): w.line(UAPIKey.allowedIP, "-\(p)")
                case .protocolVersion: w.line(UAPIKey.protocolVersion, 1)
                }
            }
        }
        return w.text + "\n"
    }

    /// The text of a `get=1` request.
    public static let getRequest = "get=1\n\n"

    enum Scan {
        /// The empty line starts at `blankLine`; the message ends just before `next`.
        case found(blankLine: Int, next: Int)
        /// No empty line yet; scanning can resume at `lineStart`.
        case partial(lineStart: Int)
    }

    /// Looks for the first empty line (`\n`, or `\r\n` as Go's line scanner reads it) in
    /// `bytes[lineStart..<end]`. `lineStart` must be the start of a line.
    static func scan(_ bytes: [UInt8], lineStart: Int, end: Int) -> Scan {
        var lineStart = lineStart
        var i = lineStart
        while i < end {
            if bytes[i] == UInt8(ascii: "\n") {
                let length = i - lineStart
                if length == 0 || (length == 1 && bytes[lineStart] == UInt8(ascii: "\r")) {
                    return .found(blankLine: lineStart, next: i + 1)
                }
                lineStart = i + 1
            }
            i += 1
        }
        return .partial(lineStart: lineStart)
    }

    /// The first empty line at or after the line start `from`, and the index past it.
    static func endOfMessage(_ bytes: [UInt8], from: Int) -> (blankLine: Int, next: Int)? {
        if case .found(let blank, let next) = scan(bytes, lineStart: from, end: bytes.count) { return (blank, next) }
        return nil
    }
}

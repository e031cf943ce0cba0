/// The key names of the configuration protocol (https://www.wireguard.com/xplatform/).
enum UAPIKey {
    static let privateKey = "private_key"
    static let listenPort = "listen_port"
    static let fwmark = "fwmark"
    static let replacePeers = "replace_peers"
    static let publicKey = "public_key"
    static let remove = "remove"
    static let updateOnly = "update_only"
    static let presharedKey = "preshared_key"
    static let endpoint = "endpoint"
    static let persistentKeepaliveInterval = "persistent_keepalive_interval"
    static let replaceAllowedIPs = "replace_allowed_ips"
    static let allowedIP = "allowed_ip"
    static let protocolVersion = "protocol_version"
    static let lastHandshakeTimeSec = "last_handshake_time_sec"
    static let lastHandshakeTimeNsec = "last_handshake_time_nsec"
    static let txBytes = "tx_bytes"
    static let rxBytes = "rx_bytes"
    static let errno = "errno"

    static let peerKeys: Set<String> = [
        publicKey, remove, updateOnly, presharedKey, endpoint, persistentKeepaliveInterval,
        replaceAllowedIPs, allowedIP, protocolVersion,
    ]
}

/// One `key=value` line of a UAPI message.
struct UAPILine {
    let key: Substring
    let value: Substring
    /// 1-based, counting the operation line (`set=1`) as line 1.
    let number: Int

    /// The key as it may appear in an error message: bounded and printable.
    var safeKey: String {
        var out = ""
        for scalar in key.unicodeScalars.prefix(40) {
            if scalar.isASCII, scalar.value >= 0x20, scalar.value < 0x7f {
                out.unicodeScalars.append(scalar)
            } else {
                out += "\\u{\(String(scalar.value, radix: 16))}"
            }
        }
        return key.unicodeScalars.count > 40 ? out + "…" : out
    }

    func invalid() -> UAPIError { UAPIError(.invalidValue(key: safeKey), line: number) }
}

/// Splitting messages into lines and parsing values, with wireguard-go's rules.
enum UAPIText {
    /// Splits `body` (the lines after the operation line, without the ending empty line)
    /// into `key=value` lines. A line ends at `\n`; one `\r` before it is dropped, as Go's
    /// bufio.ScanLines does. Line numbers start at `firstNumber`.
    static func lines(_ body: some Collection<UInt8>, firstNumber: Int) throws(UAPIError) -> [UAPILine] {
        var result: [UAPILine] = []
        var number = firstNumber
        let raws = body.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        for (i, raw) in raws.enumerated() {
            var bytes = Array(raw)
            if bytes.last == UInt8(ascii: "\r") { bytes.removeLast() }
            // The empty piece after a final "\n" (or of an empty body) is no line, nor is a
            // lone "\r" cut off by the end of the stream (Go's empty line).
            if bytes.isEmpty, i == raws.count - 1 { break }
            // Split at the first "=" byte, as Go's strings.Cut; not at a Character, which
            // may be "=" with a combining mark.
            guard let eq = bytes.firstIndex(of: UInt8(ascii: "=")) else { throw UAPIError(.missingEquals, line: number) }
            let key = String(decoding: bytes[..<eq], as: UTF8.self)
            let value = String(decoding: bytes[(eq + 1)...], as: UTF8.self)
            result.append(UAPILine(key: Substring(key), value: Substring(value), number: number))
            number += 1
        }
        return result
    }

    /// Decimal digits only (no sign, no spaces), leading zeros allowed, at most `max`:
    /// Go's strconv.ParseUint(s, 10, bits).
    static func unsigned(_ s: Substring, max: UInt64) -> UInt64? {
        guard !s.isEmpty else { return nil }
        var v: UInt64 = 0
        for c in s.utf8 {
            guard c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9") else { return nil }
            let (m, o1) = v.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(UInt64(c - UInt8(ascii: "0")))
            guard !o1, !o2 else { return nil }
            v = a
        }
        return v <= max ? v : nil
    }

    /// `ADDRESS/BITS` as Go's netip.ParsePrefix takes it: the `/` is required, no zone,
    /// no sign or leading zero in BITS. Host bits are kept as written.
    static func prefix(_ s: Substring) -> IPPrefix? {
        guard let slash = s.lastIndex(of: "/"), let address = IPAddress(s[..<slash]) else { return nil }
        let bits = s[s.index(after: slash)...]
        guard !bits.isEmpty, bits.utf8.count <= 3, bits.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }),
              !(bits.utf8.count > 1 && bits.utf8.first == UInt8(ascii: "0")),
              let length = Int(bits) else { return nil }
        return IPPrefix(address, length)
    }

    static func key<K: WireGuardKey>(_ line: UAPILine, as: K.Type) throws(UAPIError) -> K {
        do { return try K(hex: line.value) } catch { throw line.invalid() }
    }

    static func number(_ line: UAPILine, max: UInt64) throws(UAPIError) -> UInt64 {
        guard let n = unsigned(line.value, max: max) else { throw line.invalid() }
        return n
    }

    /// The flag keys (replace_peers, remove, update_only, replace_allowed_ips) take
    /// exactly `true`.
    static func flag(_ line: UAPILine) throws(UAPIError) {
        guard line.value == "true" else { throw line.invalid() }
    }

    static func endpoint(_ line: UAPILine) throws(UAPIError) -> Endpoint {
        guard let e = Endpoint(line.value) else { throw line.invalid() }
        return e
    }

    static func allowedIP(_ line: UAPILine) throws(UAPIError) -> IPPrefix {
        guard let p = prefix(line.value) else { throw line.invalid() }
        return p
    }
}

/// Appending `key=value\n` lines to a message.
struct UAPIWriter {
    var text = ""

    mutating func line(_ key: String, _ value: some CustomStringConvertible) {
        text += key
        text += "="
        text += value.description
        text += "\n"
    }

    mutating func key(_ key: String, _ value: some WireGuardKey) { line(key, value.hex) }
}

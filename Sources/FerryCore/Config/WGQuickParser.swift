import WireGuard

/// Why a wg-quick file was refused: the line and what was wrong with it.
public struct WGQuickParseError: Error, Equatable, Sendable, CustomStringConvertible {
    public var line: Int
    public var message: String
    public var description: String { "line \(line): \(message)" }
}

extension WGQuickConfig {
    /// Parses wg-quick's format: sections `[Interface]` and `[Peer]`, `Key = value` lines
    /// (keys case-insensitive as in wg-quick), `#` comments, comma-separated lists; a key
    /// repeated in a section appends for lists and hooks. Unknown keys are refused.
    public init(parsing text: String) throws(WGQuickParseError) {
        enum Section { case none, interface, peer }
        var section = Section.none
        var interface = Interface()
        var sawInterface = false
        var peers: [Peer] = []
        var pendingKey: PublicKey?
        var pending: Peer?
        var lineNo = 0

        func fail(_ m: String) -> WGQuickParseError { WGQuickParseError(line: lineNo, message: m) }
        func list(_ v: Substring) -> [Substring] {
            v.split(separator: ",").map { $0.trimmingSpaces }.filter { !$0.isEmpty }
        }
        func prefixes(_ v: Substring) throws(WGQuickParseError) -> [IPPrefix] {
            var out: [IPPrefix] = []
            for item in list(v) {
                guard let p = IPPrefix(item) else { throw fail("invalid address or prefix '\(item)'") }
                out.append(p)
            }
            return out
        }
        func int(_ v: Substring, _ range: ClosedRange<Int>, _ what: String) throws(WGQuickParseError) -> Int {
            guard v.count <= 10, let n = Int(v), range.contains(n) else { throw fail("invalid \(what) '\(v)'") }
            return n
        }

        func finishPeer() throws(WGQuickParseError) {
            guard section == .peer else { return }
            guard var p = pending, let key = pendingKey else { throw fail("[Peer] without PublicKey") }
            p.publicKey = key
            peers.append(p)
            pending = nil
            pendingKey = nil
        }

        // "\r\n" is one Character in Swift, so splitting on "\n" alone would leave a file
        // with Windows line endings as one line: split on every line break.
        for raw in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline) {
            lineNo += 1
            var line = raw
            if let hash = line.firstIndex(of: "#") { line = line[..<hash] }
            line = line.trimmingSpaces
            if line.isEmpty { continue }
            if line.hasPrefix("[") {
                try finishPeer()
                switch line.lowercased() {
                case "[interface]":
                    guard !sawInterface else { throw fail("second [Interface] section") }
                    section = .interface
                    sawInterface = true
                case "[peer]":
                    section = .peer
                    pending = Peer(publicKey: PublicKey(rawValue: .zero))
                default:
                    throw fail("unknown section \(line)")
                }
                continue
            }
            guard let eq = line.firstIndex(of: "=") else { throw fail("expected Key = Value") }
            let key = line[..<eq].trimmingSpaces.lowercased()
            let value = line[line.index(after: eq)...].trimmingSpaces
            switch section {
            case .none:
                throw fail("key outside a section")
            case .interface:
                switch key {
                case "privatekey":
                    do { interface.privateKey = try PrivateKey(base64: value) } catch { throw fail("invalid PrivateKey") }
                case "address": interface.addresses += try prefixes(value)
                case "listenport": interface.listenPort = UInt16(try int(value, 0...65535, "ListenPort"))
                case "dns": interface.dns += list(value).map(String.init)
                case "mtu": interface.mtu = try int(value, 576...65535, "MTU")
                case "table": interface.table = String(value)
                case "fwmark":
                    if value.lowercased() == "off" { interface.fwMark = 0 } else {
                        let parsed = value.lowercased().hasPrefix("0x") ? UInt32(value.dropFirst(2), radix: 16) : UInt32(value)
                        guard let m = parsed else { throw fail("invalid FwMark '\(value)'") }
                        interface.fwMark = m
                    }
                case "preup": interface.preUp.append(String(value))
                case "postup": interface.postUp.append(String(value))
                case "predown": interface.preDown.append(String(value))
                case "postdown": interface.postDown.append(String(value))
                case "saveconfig":
                    switch value.lowercased() {
                    case "true": interface.saveConfig = true
                    case "false": interface.saveConfig = false
                    default: throw fail("invalid SaveConfig '\(value)'")
                    }
                default: throw fail("unknown key '\(key)' in [Interface]")
                }
            case .peer:
                switch key {
                case "publickey":
                    do { pendingKey = try PublicKey(base64: value) } catch { throw fail("invalid PublicKey") }
                case "presharedkey":
                    do { pending?.presharedKey = try PresharedKey(base64: value) } catch { throw fail("invalid PresharedKey") }
                case "allowedips": pending?.allowedIPs += try prefixes(value)
                case "endpoint":
                    guard let e = HostPort(value) else { throw fail("invalid Endpoint '\(value)'") }
                    pending?.endpoint = e
                case "persistentkeepalive":
                    pending?.persistentKeepalive = value.lowercased() == "off" ? 0 : try int(value, 0...65535, "PersistentKeepalive")
                default: throw fail("unknown key '\(key)' in [Peer]")
                }
            }
        }
        try finishPeer()
        guard sawInterface else { throw WGQuickParseError(line: lineNo, message: "no [Interface] section") }
        self.init(interface: interface, peers: peers)
    }
}

extension Substring {
    var trimmingSpaces: Substring {
        var s = self
        while let f = s.first, f == " " || f == "\t" || f == "\r" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" || l == "\r" { s = s.dropLast() }
        return s
    }
}

import WireGuard

/// A `wg setconf` / `wg showconf` configuration as a value, to write one and compare what
/// comes back. Comparing normalises only what must be: the order of a peer's allowed IPs
/// (the daemon lists them in its table's order) and blank lines.
struct WGConfig: Equatable {
    struct Peer: Equatable {
        var publicKey: String
        var presharedKey: String?
        var allowedIPs: Set<String>
        var endpoint: String?
        var persistentKeepalive: Int?
    }

    var privateKey: String
    var listenPort: Int?
    var fwmark: String?
    var peers: [Peer]

    var text: String {
        var lines = ["[Interface]"]
        if let listenPort { lines.append("ListenPort = \(listenPort)") }
        if let fwmark { lines.append("FwMark = \(fwmark)") }
        lines.append("PrivateKey = \(privateKey)")
        for peer in peers {
            lines += ["", "[Peer]", "PublicKey = \(peer.publicKey)"]
            if let psk = peer.presharedKey { lines.append("PresharedKey = \(psk)") }
            if !peer.allowedIPs.isEmpty { lines.append("AllowedIPs = \(peer.allowedIPs.sorted().joined(separator: ", "))") }
            if let endpoint = peer.endpoint { lines.append("Endpoint = \(endpoint)") }
            if let keepalive = peer.persistentKeepalive { lines.append("PersistentKeepalive = \(keepalive)") }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Reads `wg showconf` output (or a file in the same format).
    init(parsing text: String) throws {
        privateKey = ""
        peers = []
        var inPeer = false
        for raw in text.split(separator: "\n") {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line == "[Interface]" { inPeer = false; continue }
            if line == "[Peer]" {
                inPeer = true
                peers.append(Peer(publicKey: "", allowedIPs: []))
                continue
            }
            guard let eq = line.firstIndex(of: "=") else { continue }
            let key = line[..<eq].trimmingCharacters(in: .whitespaces)
            let value = line[line.index(after: eq)...].trimmingCharacters(in: .whitespaces)
            if inPeer, !peers.isEmpty {
                let i = peers.count - 1
                switch key {
                case "PublicKey": peers[i].publicKey = value
                case "PresharedKey": peers[i].presharedKey = value
                case "AllowedIPs": peers[i].allowedIPs.formUnion(value.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
                case "Endpoint": peers[i].endpoint = value
                case "PersistentKeepalive": peers[i].persistentKeepalive = Int(value)
                default: throw ParseError(line: line)
                }
            } else {
                switch key {
                case "PrivateKey": privateKey = value
                case "ListenPort": listenPort = Int(value)
                case "FwMark": fwmark = value
                default: throw ParseError(line: line)
                }
            }
        }
    }

    init(privateKey: String, listenPort: Int?, fwmark: String?, peers: [Peer]) {
        self.privateKey = privateKey
        self.listenPort = listenPort
        self.fwmark = fwmark
        self.peers = peers
    }

    struct ParseError: Error {
        var line: String
    }

    /// `count` peers with ten allowed prefixes each (five IPv4, five IPv6, of assorted
    /// lengths, none shared), a preshared key on every third, an endpoint on every second
    /// (IPv4 and IPv6 in turn), a keepalive on every fifth.
    static func large(peers count: Int, listenPort: Int = 51820) -> WGConfig {
        let peers = (0..<count).map { i -> Peer in
            let (hi, lo) = (i >> 8, i & 0xff)
            let hex = String(i + 1, radix: 16)  // never 0: the text must be canonical (no "fd00:0::")
            let prefixes: Set<String> = [
                "10.\(hi).\(lo).0/28", "10.\(hi).\(lo).16/28", "10.\(hi).\(lo).32/29", "10.\(hi).\(lo).40/30", "10.\(hi).\(lo).44/32",
                "fd00:\(hex)::/64", "fd00:\(hex):1::/64", "fd00:\(hex):2::/80", "fd10::\(hex)/128", "2001:db8:\(hex)::/48",
            ]
            let endpoint: String? = i % 2 == 1 ? nil
                : i % 4 == 0 ? "192.0.2.\(i % 250 + 1):\(1000 + i)" : "[2001:db8::\(hex)]:\(1000 + i)"
            return Peer(publicKey: PrivateKey.generate().publicKey.base64,
                        presharedKey: i % 3 == 0 ? PresharedKey.generate().base64 : nil,
                        allowedIPs: prefixes, endpoint: endpoint, persistentKeepalive: i % 5 == 0 ? 25 : nil)
        }
        return WGConfig(privateKey: PrivateKey.generate().base64, listenPort: listenPort, fwmark: "0x2a", peers: peers)
    }
}

import WireGuard

/// A wg-quick configuration file (wg-quick(8)): an [Interface] section and [Peer]
/// sections. The agent parses and writes these too, so both directions live here.
public struct WGQuickConfig: Sendable, Equatable {
    public struct Interface: Sendable, Equatable {
        public var privateKey: PrivateKey?
        public var addresses: [IPPrefix] = []
        public var listenPort: UInt16?
        /// DNS servers and search domains, as wg-quick takes them.
        public var dns: [String] = []
        public var mtu: Int?
        public var table: String?
        public var fwMark: UInt32?
        public var preUp: [String] = []
        public var postUp: [String] = []
        public var preDown: [String] = []
        public var postDown: [String] = []
        public var saveConfig: Bool?
        public init() {}
    }

    public struct Peer: Sendable, Equatable {
        public var publicKey: PublicKey
        public var presharedKey: PresharedKey?
        public var allowedIPs: [IPPrefix] = []
        public var endpoint: HostPort?
        public var persistentKeepalive: Int?
        /// A `# comment` line written above the section (a name, for people).
        public var comment: String?
        public init(publicKey: PublicKey) { self.publicKey = publicKey }
    }

    public var interface: Interface
    public var peers: [Peer]
    /// Comment lines written at the top.
    public var comment: [String]

    public init(interface: Interface = Interface(), peers: [Peer] = [], comment: [String] = []) {
        self.interface = interface
        self.peers = peers
        self.comment = comment
    }

    /// The file's text. A nil private key is left out with a note where it goes: ferryd
    /// never holds a peer's private key unless it generated it on request.
    public func render() -> String {
        var out = comment.map { "# \($0)\n" }.joined()
        out += "[Interface]\n"
        if let key = interface.privateKey {
            out += "PrivateKey = \(key.base64)\n"
        } else {
            out += "# PrivateKey = <this device's private key: it never leaves the device>\n"
        }
        if !interface.addresses.isEmpty { out += "Address = \(interface.addresses.map(\.description).joined(separator: ", "))\n" }
        if let p = interface.listenPort { out += "ListenPort = \(p)\n" }
        if !interface.dns.isEmpty { out += "DNS = \(interface.dns.joined(separator: ", "))\n" }
        if let m = interface.mtu { out += "MTU = \(m)\n" }
        if let t = interface.table { out += "Table = \(t)\n" }
        if let f = interface.fwMark { out += "FwMark = \(f)\n" }
        for c in interface.preUp { out += "PreUp = \(c)\n" }
        for c in interface.postUp { out += "PostUp = \(c)\n" }
        for c in interface.preDown { out += "PreDown = \(c)\n" }
        for c in interface.postDown { out += "PostDown = \(c)\n" }
        if let s = interface.saveConfig { out += "SaveConfig = \(s)\n" }
        for peer in peers { out += "\n" + Self.render(peer, comment: true) }
        return out
    }

    static func render(_ peer: Peer, comment: Bool) -> String {
        var out = ""
        if comment, let c = peer.comment { out += "# \(c)\n" }
        out += "[Peer]\nPublicKey = \(peer.publicKey.base64)\n"
        if let psk = peer.presharedKey { out += "PresharedKey = \(psk.base64)\n" }
        if !peer.allowedIPs.isEmpty { out += "AllowedIPs = \(peer.allowedIPs.map(\.description).joined(separator: ", "))\n" }
        if let e = peer.endpoint { out += "Endpoint = \(e)\n" }
        if let k = peer.persistentKeepalive { out += "PersistentKeepalive = \(k)\n" }
        return out
    }

    /// The part `wg setconf`/`wg syncconf` accepts (wg-quick's own keys stripped), as
    /// `wg-quick strip` prints it.
    public func renderForWG() -> String {
        var out = "[Interface]\n"
        if let key = interface.privateKey { out += "PrivateKey = \(key.base64)\n" }
        if let p = interface.listenPort { out += "ListenPort = \(p)\n" }
        if let f = interface.fwMark { out += "FwMark = \(f)\n" }
        for peer in peers { out += "\n" + Self.render(peer, comment: false) }
        return out
    }
}

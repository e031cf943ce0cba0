import FerryTestSupport
import Foundation
import Testing
import WireGuard

/// Bad UAPI requests, written raw to the socket: each is answered with wireguard-go's errno
/// (checked against a wireguard-go given the same request) and ferry-wg's configuration is
/// exactly as before, even when the bad line comes after good ones (wireguard-go applies
/// those; ferry-wg validates the whole request first).
@Suite(.serialized, .needsRootAndFerryWG)
struct BadUAPITests {
    static let peer = PrivateKey.generate().publicKey.hex
    static let other = PrivateKey.generate().publicKey.hex
    static let key = PrivateKey.generate().hex

    /// (what is wrong, request, expected errno; nil: the connection is closed unanswered).
    static let cases: [(String, String, Int?)] = [
        ("unknown device key", "set=1\nfoo=bar\n\n", -22),
        ("unknown peer key", "set=1\npublic_key=\(peer)\nfoo=bar\n\n", -22),
        ("short private key", "set=1\nprivate_key=\(key.dropLast())\n\n", -22),
        ("private key not hex", "set=1\nprivate_key=\(String(repeating: "zz", count: 32))\n\n", -22),
        ("base64 public key", "set=1\npublic_key=\(PrivateKey.generate().publicKey.base64)\n\n", -22),
        ("preshared key too long", "set=1\npublic_key=\(peer)\npreshared_key=\(key)00\n\n", -22),
        ("listen port too large", "set=1\nlisten_port=65536\n\n", -22),
        ("negative listen port", "set=1\nlisten_port=-1\n\n", -22),
        ("listen port not a number", "set=1\nlisten_port=12x\n\n", -22),
        ("fwmark too large", "set=1\nfwmark=4294967296\n\n", -22),
        ("keepalive too large", "set=1\npublic_key=\(peer)\npersistent_keepalive_interval=65536\n\n", -22),
        ("replace_peers not true", "set=1\nreplace_peers=yes\n\n", -22),
        ("remove not true", "set=1\npublic_key=\(peer)\nremove=false\n\n", -22),
        ("protocol version 2", "set=1\npublic_key=\(peer)\nprotocol_version=2\n\n", -22),
        ("endpoint without port", "set=1\npublic_key=\(peer)\nendpoint=192.0.2.9\n\n", -22),
        ("IPv6 endpoint without brackets", "set=1\npublic_key=\(peer)\nendpoint=2001:db8::1:51820\n\n", -22),
        ("endpoint port too large", "set=1\npublic_key=\(peer)\nendpoint=192.0.2.9:65536\n\n", -22),
        ("endpoint host name", "set=1\npublic_key=\(peer)\nendpoint=example.com:51820\n\n", -22),
        ("prefix length too large", "set=1\npublic_key=\(peer)\nallowed_ip=10.0.0.0/33\n\n", -22),
        ("allowed IP without length", "set=1\npublic_key=\(peer)\nallowed_ip=10.0.0.1\n\n", -22),
        ("peer key before any public_key", "set=1\nendpoint=192.0.2.9:51820\n\n", -22),
        ("device key in a peer section", "set=1\npublic_key=\(peer)\nlisten_port=4000\n\n", -22),
        ("private key in a peer section", "set=1\npublic_key=\(peer)\nprivate_key=\(key)\n\n", -22),
        ("line without =", "set=1\nlisten_port\n\n", -71),
        ("trailing byte after get", "get=1\nx\n", -22),
        // Good changes first, then a bad line: nothing of it may stick.
        ("good lines then a bad endpoint",
         "set=1\nlisten_port=4000\nprivate_key=\(key)\nreplace_peers=true\npublic_key=\(other)\nallowed_ip=10.9.0.0/16\n"
             + "public_key=\(peer)\nreplace_allowed_ips=true\nallowed_ip=10.8.0.0/16\nendpoint=192.0.2.9:bad\n\n", -22),
        ("good lines then a bad key", "set=1\nfwmark=7\npublic_key=\(peer)\nremove=true\npublic_key=zz\n\n", -22),
        ("unknown operation", "put=1\n\n", nil),
    ]

    /// Both daemons with the same peer, the interface down so nothing is sent.
    static func configure(_ interface: WGInterface) throws {
        try interface.addPeer(try PublicKey(hex: peer), allowedIPs: ["10.1.0.0/16", "fd01::/64"], endpoint: "192.0.2.1:51820",
                              presharedKey: PresharedKey.generate(), keepalive: 25)
        try interface.wg(["set", interface.name, "fwmark", "0x99"])
    }

    static func get(_ interface: WGInterface) throws -> String {
        try #require(try UAPIClient(path: interface.socketPath).request("get=1\n\n"))
    }

    /// ferry-wg on port 51820 and wireguard-go on 51821 in one namespace, both with the peer.
    static func withDaemons(_ body: (NetworkNamespace, WGInterface, WGInterface) throws -> Void) throws {
        let ns = try NetworkNamespace(prefix: "fbu")
        let ferry = try WGInterface(.ferry, in: ns, listenPort: 51820)
        let reference = try WGInterface(.wireguardGo, in: ns, listenPort: 51821)
        defer {
            ferry.close()
            reference.close()
            ns.close()
        }
        try configure(ferry)
        try configure(reference)
        try body(ns, ferry, reference)
    }

    @Test func badRequestsGetWireguardGosErrnoAndChangeNothing() throws {
        try BadUAPITests.withDaemons { _, ferry, reference in
            let before = try BadUAPITests.get(ferry)
            #expect(before.contains("public_key=\(BadUAPITests.peer)") && before.hasSuffix("errno=0\n\n"))
            for (what, request, expected) in BadUAPITests.cases {
                let client = try UAPIClient(path: ferry.socketPath)
                let answer = client.request(request)
                let goAnswer = try UAPIClient(path: reference.socketPath).request(request)
                if let expected {
                    #expect(answer == "errno=\(expected)\n\n", "\(what): ferry-wg answered \(answer ?? "nothing")")
                } else {
                    #expect(answer == nil && client.isClosedByServer(), "\(what): ferry-wg answered \(answer ?? "nothing")")
                }
                #expect(answer == goAnswer, "\(what): ferry-wg \(answer ?? "closed"), wireguard-go \(goAnswer ?? "closed")")
                #expect(try BadUAPITests.get(ferry) == before, "\(what) changed the configuration")
            }
            // The socket still serves good requests.
            #expect(try UAPIClient(path: ferry.socketPath).request("set=1\nlisten_port=4001\n\n") == "errno=0\n\n")
            #expect(try ferry.wg(["show", ferry.name, "listen-port"]).trimmingCharacters(in: .whitespacesAndNewlines) == "4001")
        }
    }

    /// A listen port another socket holds: EADDRINUSE (as wireguard-go answers), the rest of
    /// the request not applied (the fwmark set with it taken back from the sockets too), and
    /// the daemon still on its old port.
    @Test func portInUseIsRefusedAndTheOldPortKept() throws {
        try BadUAPITests.withDaemons { ns, ferry, reference in
            try ns.exec(["ip", "link", "set", reference.name, "up"])  // wireguard-go binds when up
            #expect(waitUntil(timeout: 5) { ((try? ns.exec(["ss", "-Hlun", "sport", "=", ":51821"])) ?? "").contains(":51821") })
            let before = try BadUAPITests.get(ferry)
            let request = "set=1\nfwmark=119\nlisten_port=51821\npublic_key=\(BadUAPITests.other)\nallowed_ip=10.9.0.0/16\n\n"
            #expect(try UAPIClient(path: ferry.socketPath).request(request) == "errno=-98\n\n")
            #expect(try UAPIClient(path: reference.socketPath).request("set=1\nlisten_port=51820\n\n") == "errno=-98\n\n")
            #expect(try BadUAPITests.get(ferry) == before)
            let bound = try ns.exec(["ss", "-Hlunp", "sport", "=", ":51820"])
            #expect(bound.contains("ferry-wg") && bound.contains("0.0.0.0:51820") && bound.contains("[::]:51820"), "\(bound)")
            #expect(!(try ns.exec(["ss", "-Hluen", "sport", "=", ":51820"])).contains("fwmark:0x77"), "the mark stayed on the sockets")
        }
    }
}

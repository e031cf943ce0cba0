import Testing
@testable import WireGuard

private typealias S = UAPISamples

@Suite struct UAPIRequestTests {
    @Test func getRequest() throws {
        #expect(try UAPI.parse("get=1\n\n") == .get)
        #expect(try UAPI.parse(UAPI.getRequest) == .get)
    }

    @Test func wgSetconfRequestParsesToTypedChangesInOrder() throws {
        let request = try UAPI.parse(S.wgSetconf)
        let expected = UAPISetRequest(
            device: [.privateKey(S.key(S.privateHex)), .listenPort(51820), .fwmark(4660), .replacePeers],
            peers: [
                .init(publicKey: S.key(S.peer1Hex), changes: [
                    .presharedKey(S.key(S.pskHex)),
                    .endpoint(S.endpoint("[2001:db8::1]:51820")),
                    .persistentKeepaliveInterval(25),
                    .replaceAllowedIPs,
                    .addAllowedIP(S.prefix("10.0.0.0/24")),
                    .addAllowedIP(S.prefix("fd00::/64")),
                ]),
                .init(publicKey: S.key(S.peer2Hex), changes: [
                    .endpoint(S.endpoint("182.122.22.19:3233")),
                    .replaceAllowedIPs,
                    .addAllowedIP(S.prefix("192.168.4.6/32")),
                ]),
                .init(publicKey: S.key(S.peer3Hex), changes: [.removeAllowedIP(S.prefix("192.168.4.10/32"))]),
                .init(publicKey: S.key(S.peer4Hex), changes: [.remove]),
            ]
        )
        #expect(request == .set(expected))
        // And back to the very same text.
        #expect(UAPI.render(expected) == S.wgSetconf)
    }

    @Test func wireguardGoTestConfig() throws {
        guard case .set(let r) = try UAPI.parse(S.wireguardGoTestConfig) else {
            Issue.record("not a set request")
            return
        }
        #expect(r.device == [.privateKey(S.key(S.privateHex)), .listenPort(0), .replacePeers])
        #expect(r.peers.map(\.changes) == [[.protocolVersion, .replaceAllowedIPs, .addAllowedIP(S.prefix("1.0.0.2/32"))]])
        #expect(UAPI.render(r) == S.wireguardGoTestConfig)
    }

    @Test func everyPeerKey() throws {
        let text = """
            set=1
            public_key=\(S.peer1Hex)
            update_only=true
            remove=true
            preshared_key=\(S.zeroHex)
            endpoint=1.2.3.4:0
            persistent_keepalive_interval=0
            replace_allowed_ips=true
            allowed_ip=0.0.0.0/0
            allowed_ip=-::/0
            protocol_version=1


            """
        let expected = UAPISetRequest(peers: [.init(publicKey: S.key(S.peer1Hex), changes: [
            .updateOnly, .remove, .presharedKey(PresharedKey(rawValue: .zero)), .endpoint(S.endpoint("1.2.3.4:0")),
            .persistentKeepaliveInterval(0), .replaceAllowedIPs, .addAllowedIP(S.prefix("0.0.0.0/0")),
            .removeAllowedIP(S.prefix("::/0")), .protocolVersion,
        ])])
        #expect(try UAPI.parse(text) == .set(expected))
        #expect(UAPI.render(expected) == text)
    }

    @Test func orderIsKeptAsGiven() throws {
        let text = """
            set=1
            listen_port=1
            replace_peers=true
            listen_port=2
            public_key=\(S.peer1Hex)
            allowed_ip=10.0.0.1/32
            replace_allowed_ips=true
            allowed_ip=10.0.0.2/32
            public_key=\(S.peer2Hex)
            public_key=\(S.peer1Hex)
            replace_allowed_ips=true


            """
        guard case .set(let r) = try UAPI.parse(text) else {
            Issue.record("not a set request")
            return
        }
        #expect(r.device == [.listenPort(1), .replacePeers, .listenPort(2)])
        #expect(r.peers.map(\.publicKey) == [S.key(S.peer1Hex), S.key(S.peer2Hex), S.key(S.peer1Hex)])
        #expect(r.peers[0].changes == [
            .addAllowedIP(S.prefix("10.0.0.1/32")), .replaceAllowedIPs, .addAllowedIP(S.prefix("10.0.0.2/32")),
        ])
        #expect(r.peers[1].changes.isEmpty)
        #expect(r.peers[2].changes == [.replaceAllowedIPs])
        #expect(UAPI.render(r) == text)
    }

    @Test(arguments: [
        ("listen_port=0", UAPISetRequest.DeviceChange.listenPort(0)),
        ("listen_port=65535", .listenPort(65535)),
        ("listen_port=00000000000051820", .listenPort(51820)), // strconv.ParseUint takes leading zeros
        ("fwmark=0", .fwmark(0)),
        ("fwmark=4294967295", .fwmark(.max)),
        ("private_key=\(UAPISamples.zeroHex)", .privateKey(PrivateKey(rawValue: .zero))),
        ("private_key=\(UAPISamples.privateHex.uppercased())", .privateKey(UAPISamples.key(UAPISamples.privateHex))),
    ])
    func acceptedDeviceValues(_ line: String, _ change: UAPISetRequest.DeviceChange) throws {
        #expect(try UAPI.parse("set=1\n\(line)\n\n") == .set(UAPISetRequest(device: [change])))
    }

    @Test(arguments: [
        ("allowed_ip=10.1.2.3/8", UAPISetRequest.PeerChange.addAllowedIP(UAPISamples.prefix("10.1.2.3/8"))),
        ("allowed_ip=::ffff:1.2.3.4/128", .addAllowedIP(UAPISamples.prefix("::ffff:1.2.3.4/128"))),
        ("allowed_ip=-0.0.0.0/0", .removeAllowedIP(UAPISamples.prefix("0.0.0.0/0"))),
        ("allowed_ip=1.2.3.4/0", .addAllowedIP(UAPISamples.prefix("1.2.3.4/0"))),
        ("endpoint=[::ffff:1.2.3.4]:1", .endpoint(UAPISamples.endpoint("[::ffff:1.2.3.4]:1"))),
        ("endpoint=1.2.3.4:00080", .endpoint(UAPISamples.endpoint("1.2.3.4:80"))),
        ("persistent_keepalive_interval=65535", .persistentKeepaliveInterval(65535)),
        ("preshared_key=\(UAPISamples.pskHex)", .presharedKey(UAPISamples.key(UAPISamples.pskHex))),
    ])
    func acceptedPeerValues(_ line: String, _ change: UAPISetRequest.PeerChange) throws {
        let text = "set=1\npublic_key=\(S.peer1Hex)\n\(line)\n\n"
        #expect(try UAPI.parse(text) == .set(UAPISetRequest(peers: [.init(publicKey: S.key(S.peer1Hex), changes: [change])])))
    }

    @Test func crlfLinesAsGoReadsThem() throws {
        // bufio.ScanLines drops one "\r" before "\n", so "\r\n" alone is the empty line.
        let text = "set=1\nlisten_port=7\r\npublic_key=\(S.peer1Hex)\r\n\r\n"
        #expect(try UAPI.parse(text) == .set(UAPISetRequest(device: [.listenPort(7)], peers: [.init(publicKey: S.key(S.peer1Hex))])))
    }

    @Test func emptySetRequest() throws {
        #expect(try UAPI.parse("set=1\n\n") == .set(UAPISetRequest()))
        #expect(UAPI.render(UAPISetRequest()) == "set=1\n\n")
    }
}

/// One refused request: the text, why, the errno wireguard-go answers, and the line.
struct UAPIRejection: Sendable, CustomTestStringConvertible {
    let text: String
    let reason: UAPIError.Reason
    let errno: Int32
    let line: Int
    var testDescription: String { "\(text.debugDescription) → \(reason)" }

    /// A set request with `body` lines between `set=1` and the empty line.
    static func set(_ body: String, _ reason: UAPIError.Reason, _ errno: Int32, line: Int = 2) -> Self {
        Self(text: "set=1\n\(body)\n\n", reason: reason, errno: errno, line: line)
    }

    /// A set request where `body` follows one peer's public_key.
    static func peer(_ body: String, _ reason: UAPIError.Reason, _ errno: Int32 = 22) -> Self {
        Self(text: "set=1\npublic_key=\(UAPISamples.peer1Hex)\n\(body)\n\n", reason: reason, errno: errno, line: 3)
    }
}

private let einval: Int32 = 22, eproto: Int32 = 71

private func bad(_ key: String) -> UAPIError.Reason { .invalidValue(key: key) }

@Suite struct UAPIRequestErrorTests {
    @Test(arguments: [
        // Operation line and framing.
        UAPIRejection(text: "GET=1\n\n", reason: .invalidOperation, errno: eproto, line: 1),
        UAPIRejection(text: "get=2\n\n", reason: .invalidOperation, errno: eproto, line: 1),
        UAPIRejection(text: "set=1\r\n\n", reason: .invalidOperation, errno: eproto, line: 1),
        UAPIRejection(text: "", reason: .incomplete, errno: eproto, line: 1),
        UAPIRejection(text: "get=1\n", reason: .incomplete, errno: eproto, line: 1),
        UAPIRejection(text: "get=1\nx", reason: .trailingCharacterAfterGet, errno: einval, line: 2),
        UAPIRejection(text: "get=1\n\r\n", reason: .trailingCharacterAfterGet, errno: einval, line: 2),
        UAPIRejection(text: "get=1\n\nget=1\n\n", reason: .trailingData, errno: eproto, line: 3),
        UAPIRejection(text: "set=1\nlisten_port=1\n", reason: .incomplete, errno: eproto, line: 0),
        UAPIRejection(text: "set=1\n\nx", reason: .trailingData, errno: eproto, line: 0),
        // Lines.
        .set("listen_port", .missingEquals, eproto),
        .set("", .trailingData, eproto, line: 0), // "set=1\n\n\n": the request ends, then a stray "\n"
        .set("listen_port=1\nfwmark", .missingEquals, eproto, line: 3),
        .set("bogus=1", .unknownDeviceKey("bogus"), einval),
        .set("=1", .unknownDeviceKey(""), einval),
        .set("listen_port=\u{338}1", bad("listen_port"), einval), // "=" and a combining mark: still a "=" byte
        .set("public_key=\u{301}", bad("public_key"), einval),
        .set("Listen_port=1", .unknownDeviceKey("Listen_port"), einval),
        .set("listen_port =1", .unknownDeviceKey("listen_port "), einval),
        .set("endpoint=1.2.3.4:5", .unknownDeviceKey("endpoint"), einval), // a peer key before public_key
        .set("allowed_ip=1.2.3.4/32", .unknownDeviceKey("allowed_ip"), einval),
        .set("errno=0", .unknownDeviceKey("errno"), einval),
        .set("tx_bytes=0", .unknownDeviceKey("tx_bytes"), einval),
        // Device values.
        .set("private_key=", bad("private_key"), einval),
        .set("private_key=\(UAPISamples.privateHex.dropLast())", bad("private_key"), einval),
        .set("private_key=\(UAPISamples.privateHex)0", bad("private_key"), einval),
        .set("private_key=\(UAPISamples.privateHex.dropLast())g", bad("private_key"), einval),
        .set("private_key= \(UAPISamples.privateHex)", bad("private_key"), einval),
        .set("listen_port=", bad("listen_port"), einval),
        .set("listen_port=65536", bad("listen_port"), einval),
        .set("listen_port=-1", bad("listen_port"), einval),
        .set("listen_port=+1", bad("listen_port"), einval),
        .set("listen_port= 1", bad("listen_port"), einval),
        .set("listen_port=1 ", bad("listen_port"), einval),
        .set("listen_port=0x10", bad("listen_port"), einval),
        .set("listen_port=1_000", bad("listen_port"), einval),
        .set("listen_port=99999999999999999999999", bad("listen_port"), einval),
        .set("fwmark=4294967296", bad("fwmark"), einval),
        .set("fwmark=off", bad("fwmark"), einval),
        .set("replace_peers=false", bad("replace_peers"), einval),
        .set("replace_peers=TRUE", bad("replace_peers"), einval),
        .set("replace_peers=", bad("replace_peers"), einval),
        .set("public_key=", bad("public_key"), einval),
        .set("public_key=xyz", bad("public_key"), einval),
        // Peer keys and values.
        .peer("listen_port=1", .unknownPeerKey("listen_port")),
        .peer("private_key=\(UAPISamples.privateHex)", .unknownPeerKey("private_key")),
        .peer("replace_peers=true", .unknownPeerKey("replace_peers")),
        .peer("last_handshake_time_sec=0", .unknownPeerKey("last_handshake_time_sec")),
        .peer("remove=1", bad("remove")),
        .peer("remove=false", bad("remove")),
        .peer("update_only=yes", bad("update_only")),
        .peer("replace_allowed_ips=", bad("replace_allowed_ips")),
        .peer("preshared_key=short", bad("preshared_key")),
        .peer("endpoint=", bad("endpoint")),
        .peer("endpoint=1.2.3.4", bad("endpoint")),
        .peer("endpoint=1.2.3.4:", bad("endpoint")),
        .peer("endpoint=1.2.3.4:65536", bad("endpoint")),
        .peer("endpoint=1.2.3.4:-1", bad("endpoint")),
        .peer("endpoint=[1.2.3.4]:80", bad("endpoint")),
        .peer("endpoint=::1:80", bad("endpoint")),
        .peer("endpoint=[::1]", bad("endpoint")),
        .peer("endpoint=host.example:80", bad("endpoint")),
        .peer("endpoint=01.2.3.4:80", bad("endpoint")),
        .peer("endpoint=[fe80::1%eth0]:51820", bad("endpoint")), // zone: see the report, wireguard-go takes it
        .peer("persistent_keepalive_interval=65536", bad("persistent_keepalive_interval")),
        .peer("persistent_keepalive_interval=", bad("persistent_keepalive_interval")),
        .peer("allowed_ip=1.2.3.4", bad("allowed_ip")),
        .peer("allowed_ip=1.2.3.4/33", bad("allowed_ip")),
        .peer("allowed_ip=::/129", bad("allowed_ip")),
        .peer("allowed_ip=1.2.3.4/024", bad("allowed_ip")),
        .peer("allowed_ip=1.2.3.4/00", bad("allowed_ip")),
        .peer("allowed_ip=1.2.3.4/-1", bad("allowed_ip")),
        .peer("allowed_ip=1.2.3.4/+8", bad("allowed_ip")),
        .peer("allowed_ip=1.2.3.4/", bad("allowed_ip")),
        .peer("allowed_ip=/8", bad("allowed_ip")),
        .peer("allowed_ip=--1.2.3.4/32", bad("allowed_ip")),
        .peer("allowed_ip=-", bad("allowed_ip")),
        .peer("allowed_ip=", bad("allowed_ip")),
        .peer("allowed_ip=01.2.3.4/32", bad("allowed_ip")),
        .peer("allowed_ip=1.2.3.4/8/8", bad("allowed_ip")),
        .peer("allowed_ip=fe80::1%eth0/64", bad("allowed_ip")),
        .peer("allowed_ip=1.2.3.4/32 ", bad("allowed_ip")),
        .peer("protocol_version=2", bad("protocol_version")),
        .peer("protocol_version=01", bad("protocol_version")),
        .peer("protocol_version=", bad("protocol_version")),
    ])
    func rejected(_ r: UAPIRejection) {
        #expect(throws: UAPIError(r.reason, line: r.line)) { try UAPI.parse(r.text) }
        do {
            _ = try UAPI.parse(r.text)
        } catch {
            #expect(error.errno == r.errno)
            #expect(UAPI.response(error) == "errno=-\(r.errno)\n\n")
        }
    }

    @Test func errorsNameTheLineAndNeverEchoValues() {
        let secret = UAPISamples.privateHex.dropLast() + "z"
        do {
            _ = try UAPI.parse("set=1\nlisten_port=1\nprivate_key=\(secret)\n\n")
            Issue.record("accepted a bad key")
        } catch {
            #expect(error.line == 3)
            #expect(!error.description.contains(secret))
            #expect(error.description.contains("private_key"))
        }
    }

    @Test func hostileKeysAreShortenedAndEscapedInErrors() {
        let key = String(repeating: "k", count: 1000) + "\u{1b}[31m"
        do {
            _ = try UAPI.parse("set=1\n\(key)=1\n\n")
        } catch {
            #expect(error.description.count < 200)
            #expect(!error.description.contains("\u{1b}"))
        }
        do {
            _ = try UAPI.parse("set=1\nfoo\u{1b}=1\n\n")
        } catch {
            #expect(error.reason == .unknownDeviceKey("foo\\u{1b}"))
        }
    }

    @Test func peerKeyBeforePublicKeyExplainsItself() {
        #expect("\(UAPIError(.unknownDeviceKey("endpoint"), line: 2))".contains("must follow a public_key"))
    }
}

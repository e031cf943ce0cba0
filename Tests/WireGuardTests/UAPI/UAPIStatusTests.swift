import Testing
@testable import WireGuard

private typealias S = UAPISamples

@Suite struct UAPIStatusTests {
    static let status = UAPIDeviceStatus(
        privateKey: S.key(S.privateHex), listenPort: 51820, fwmark: 0,
        peers: [
            UAPIPeerStatus(
                publicKey: S.key(S.peer1Hex), presharedKey: S.key(S.pskHex),
                endpoint: S.endpoint("[2001:db8::ffff:0:1]:51820"),
                lastHandshakeTimeSec: 1_700_000_000, lastHandshakeTimeNsec: 123_456_789,
                txBytes: 18_446_744_073_709_551_615, rxBytes: 1, persistentKeepaliveInterval: 25,
                allowedIPs: [S.prefix("10.0.0.0/24"), S.prefix("fd00::/64"), S.prefix("0.0.0.0/0")]
            ),
            UAPIPeerStatus(publicKey: S.key(S.peer2Hex)),
        ]
    )

    /// In the order and format of wireguard-go device/uapi.go IpcGetOperation: device keys
    /// only when set, then per peer public_key, preshared_key (zeros when none),
    /// protocol_version, endpoint (only when known), the handshake time, tx, rx,
    /// keepalive, allowed_ip…; then the errno line and the empty line.
    static let text = """
        private_key=\(S.privateHex)
        listen_port=51820
        public_key=\(S.peer1Hex)
        preshared_key=\(S.pskHex)
        protocol_version=1
        endpoint=[2001:db8::ffff:0:1]:51820
        last_handshake_time_sec=1700000000
        last_handshake_time_nsec=123456789
        tx_bytes=18446744073709551615
        rx_bytes=1
        persistent_keepalive_interval=25
        allowed_ip=10.0.0.0/24
        allowed_ip=fd00::/64
        allowed_ip=0.0.0.0/0
        public_key=\(S.peer2Hex)
        preshared_key=\(S.zeroHex)
        protocol_version=1
        last_handshake_time_sec=0
        last_handshake_time_nsec=0
        tx_bytes=0
        rx_bytes=0
        persistent_keepalive_interval=0
        errno=0


        """

    @Test func renderMatchesWireguardGo() {
        #expect(UAPI.render(Self.status) == Self.text)
    }

    @Test func parseStatusRoundTrip() throws {
        #expect(try UAPI.parseStatus(Self.text) == Self.status)
    }

    @Test func emptyDevice() throws {
        #expect(UAPI.render(UAPIDeviceStatus()) == "errno=0\n\n")
        #expect(try UAPI.parseStatus("errno=0\n\n") == UAPIDeviceStatus())
        // A zero private key is not shown, as wireguard-go does.
        #expect(UAPI.render(UAPIDeviceStatus(privateKey: PrivateKey(rawValue: .zero), fwmark: 7)) == "fwmark=7\nerrno=0\n\n")
    }

    @Test func unknownKeysAreIgnoredAsWgDoes() throws {
        let text = "future_key=1\npublic_key=\(S.peer1Hex)\nanother=x\nerrno=0\n\n"
        #expect(try UAPI.parseStatus(text) == UAPIDeviceStatus(peers: [UAPIPeerStatus(publicKey: S.key(S.peer1Hex))]))
    }

    @Test(arguments: [
        ("errno=-22\n\n", UAPIError.Reason.daemonError(-22), Int32(22)),
        ("errno=5\n\n", .daemonError(5), 5),
        ("listen_port=1\n\n", .incomplete, 71),
        ("listen_port=1\nerrno=0\n", .incomplete, 71),
        ("errno=0\n\nerrno=0\n\n", .trailingData, 71),
        ("errno=x\n\n", .invalidValue(key: "errno"), 22),
        ("errno=\n\n", .invalidValue(key: "errno"), 22),
        ("errno=-\n\n", .invalidValue(key: "errno"), 22),
        ("errno=99999999999\n\n", .invalidValue(key: "errno"), 22),
        ("listen_port=70000\nerrno=0\n\n", .invalidValue(key: "listen_port"), 22),
        ("endpoint=1.2.3.4:5\nerrno=0\n\n", .unexpectedKey("endpoint"), 71),
        ("public_key=\(UAPISamples.peer1Hex)\nlisten_port=1\nerrno=0\n\n", .unexpectedKey("listen_port"), 71),
        ("public_key=\(UAPISamples.peer1Hex)\ntx_bytes=-1\nerrno=0\n\n", .invalidValue(key: "tx_bytes"), 22),
        ("public_key=\(UAPISamples.peer1Hex)\nallowed_ip=1.2.3.4\nerrno=0\n\n", .invalidValue(key: "allowed_ip"), 22),
        ("public_key=\(UAPISamples.peer1Hex)\nlast_handshake_time_sec=9223372036854775808\nerrno=0\n\n",
         .invalidValue(key: "last_handshake_time_sec"), 22),
        ("no equals\nerrno=0\n\n", .missingEquals, 71),
    ])
    func parseStatusRejects(_ text: String, _ reason: UAPIError.Reason, _ errno: Int32) {
        do {
            _ = try UAPI.parseStatus(text)
            Issue.record("accepted \(text.debugDescription)")
        } catch {
            #expect(error.reason == reason)
            #expect(error.errno == errno)
        }
    }

    @Test func answerLengthFindsTheEndOfEachAnswer() {
        let get = Array(Self.text.utf8)
        #expect(UAPI.answerLength(get) == get.count)
        #expect(UAPI.answerLength(Array(get.dropLast())) == nil)
        #expect(UAPI.answerLength(get + Array("errno=0\n\n".utf8)) == get.count)
        #expect(UAPI.answerLength(Array("errno=-22\n\nerrno=0".utf8)) == 11)
        #expect(UAPI.answerLength([]) == nil)
    }

    @Test func responses() throws {
        #expect(UAPI.response(nil) == "errno=0\n\n")
        #expect(UAPI.response(UAPIError(.missingEquals)) == "errno=-71\n\n")
        #expect(UAPI.response(errno: -98) == "errno=-98\n\n")
        try UAPI.parseSetResponse("errno=0\n\n")
        #expect(throws: UAPIError(.daemonError(-22), line: 1)) { try UAPI.parseSetResponse("errno=-22\n\n") }
        #expect(throws: UAPIError(.unexpectedKey("listen_port"), line: 1)) {
            try UAPI.parseSetResponse("listen_port=1\nerrno=0\n\n")
        }
        #expect(throws: UAPIError(.incomplete)) { try UAPI.parseSetResponse("errno=0\n") }
    }
}

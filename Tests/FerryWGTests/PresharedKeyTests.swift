import FerryTestSupport
import Testing
import WireGuard

/// Preshared keys (the psk of Noise_IKpsk2): equal keys carry traffic whoever initiates,
/// different keys never complete a handshake.
@Suite(.serialized, .needsRootAndFerryWG)
struct PresharedKeyTests {
    @Test(arguments: Implementation.allCases)
    func samePresharedKeyCarriesTraffic(initiator: Implementation) throws {
        let tunnel = try Tunnel(initiator, initiator.other, endpointsKnownBy: [.a], presharedKey: true)
        defer { tunnel.close() }
        try tunnel.ping(from: .a, family: 0)
        try tunnel.ping(from: .b, family: 1)
        let psk = try #require(tunnel.presharedKey).base64
        #expect(try tunnel.a.peer(tunnel.b.publicKey)?.presharedKey == psk)
        #expect(try tunnel.b.peer(tunnel.a.publicKey)?.presharedKey == psk)
    }

    @Test(arguments: Implementation.allCases)
    func differentPresharedKeysNeverHandshake(initiator: Implementation) throws {
        let tunnel = try Tunnel(initiator, initiator.other, endpointsKnownBy: [.a], presharedKey: true)
        defer { tunnel.close() }
        try tunnel.b.wg(["set", tunnel.b.name, "peer", tunnel.a.publicKey.base64, "preshared-key", "/dev/stdin"],
                        input: PresharedKey.generate().base64)
        #expect(throws: CommandFailure.self) {
            try tunnel.ping(from: .a, family: 0, count: 1)
        }
        #expect(try tunnel.a.peer(tunnel.b.publicKey)?.latestHandshake == 0)
        #expect(try tunnel.b.peer(tunnel.a.publicKey)?.latestHandshake == 0)
    }
}

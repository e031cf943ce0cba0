import FerryTestSupport
import Testing

/// Cryptokey routing on receive (whitepaper §2): a packet that decrypts fine but whose inner
/// source is outside the sending peer's allowed IPs is dropped, not written to the TUN, and
/// (ferry-wg) counted in its log.
@Suite(.serialized, .needsRootAndFerryWG)
struct AllowedIPsFilterTests {
    @Test(arguments: Implementation.allCases)
    func spoofedInnerSourceIsDropped(receiver: Implementation) throws {
        let tunnel = try Tunnel(receiver, receiver.other)
        defer { tunnel.close() }
        // b may send from 10.50.0.2 and fd51::2 only; give it two more addresses.
        let spoofed = ["10.50.0.99", "fd51::99"]
        try tunnel.b.ns.exec(["ip", "addr", "add", spoofed[0] + "/32", "dev", tunnel.b.name])
        try tunnel.b.ns.exec(["ip", "addr", "add", spoofed[1] + "/128", "dev", tunnel.b.name, "nodad"])
        for family in 0..<2 {
            let allowed = Tunnel.innerB[family]
            try tunnel.ping(from: .b, family: family, count: 1, source: allowed)
            let before = try tunnel.a.linkStatistics().rxPackets
            let sentBefore = try #require(try tunnel.b.peer(tunnel.a.publicKey)).tx
            let output = try? tunnel.b.ns.exec(["ping", "-c", "3", "-i", "0.2", "-W", "1", "-I", spoofed[family],
                                                Tunnel.innerA[family]])
            #expect(output == nil, "a spoofed ping was answered: \(output ?? "")")
            // The sender did encrypt and send them (3 × at least 32 bytes of overhead)...
            let sentAfter = try #require(try tunnel.b.peer(tunnel.a.publicKey)).tx
            #expect(sentAfter >= sentBefore + 3 * 32)
            // ...and none reached the receiver's interface.
            #expect(try tunnel.a.linkStatistics().rxPackets == before)
            // A packet from the allowed address still does.
            try tunnel.ping(from: .b, family: family, count: 1, source: allowed)
            #expect(try tunnel.a.linkStatistics().rxPackets > before)
        }
        if receiver == .ferry {
            #expect(tunnel.a.process.output.contains("packets with a source address outside the sending peer's allowed IPs"))
        }
    }
}

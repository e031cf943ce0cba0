import FerryTestSupport
import Testing

/// `wg show` transfer counters: once traffic stops, what one side received is what the
/// other sent, both ways.
@Suite(.serialized, .needsRootAndFerryWG)
struct CountersTests {
    @Test(arguments: Implementation.allCases)
    func transferCountersAgreeOnBothSides(initiator: Implementation) throws {
        let tunnel = try Tunnel(initiator, initiator.other, endpointsKnownBy: [.a])
        defer { tunnel.close() }
        // Pings, not a bulk transfer: a datagram dropped on the way (wireguard-go 0.0.20220316
        // keeps the kernel's small default receive buffer, which a burst of sendmmsg can
        // overflow) counts as sent on one side and never as received on the other.
        for family in 0..<2 {
            for side in [Tunnel.Side.a, .b] {
                try tunnel.interface(side).ns.exec(["ping", "-q", "-c", "20", "-i", "0.02", "-s", "1200", "-W", "2",
                                                    side == .a ? Tunnel.innerB[family] : Tunnel.innerA[family]])
            }
        }
        var last = ""
        let agree = try waitUntil(timeout: 15) {
            let a = try #require(try tunnel.a.peer(tunnel.b.publicKey)), b = try #require(try tunnel.b.peer(tunnel.a.publicKey))
            last = "a rx \(a.rx) tx \(a.tx), b rx \(b.rx) tx \(b.tx)"
            return a.rx == b.tx && a.tx == b.rx && a.rx > 0 && a.tx > 4 * 20 * 1200
        }
        let drops = [tunnel.left, tunnel.right].map { ns in
            (try? ns.exec(["nstat", "-az", "UdpRcvbufErrors", "UdpSndbufErrors"]).split(separator: "\n").dropFirst()
                .map { $0.split(separator: " ").prefix(2).joined(separator: " ") }.joined(separator: ", ")) ?? ""
        }
        #expect(agree, "counters disagree: \(last); UDP drops left: \(drops[0]), right: \(drops[1])")
    }
}

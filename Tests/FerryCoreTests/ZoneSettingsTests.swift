@testable import FerryCore
import FerryDNS
import Testing
import WireGuard

@Suite("DNS zone settings, records and configs")
struct ZoneSettingsTests {
    /// The policy compiler's topology with the hub gateway served by ferryd or not.
    static func compiler(servesDNS: Bool, zone: String? = nil, dns: [IPAddress] = []) -> PolicyCompiler {
        var t = PolicyCompilerTests.topology()
        t.network.dnsZone = zone
        t.network.dns = dns
        t.gateways[0].servesDNS = servesDNS
        return PolicyCompiler(t)
    }

    @Test func wgQuickCarriesServerAndZoneOnlyWhenAGatewayAnswers() throws {
        let on = Self.compiler(servesDNS: true), off = Self.compiler(servesDNS: false)
        let dev = try #require(on.topology.peers.first { $0.id == "dev" })
        #expect(on.peerConfig(for: dev, at: 0).render().contains("DNS = 10.10.0.1, t.ferry.internal\n"))
        #expect(!off.peerConfig(for: dev, at: 0).render().contains("DNS ="))
        #expect(on.networkMap(for: dev, at: 0).dns == NetworkMap.DNSPart(server: "10.10.0.1", zone: "t.ferry.internal"))
        #expect(off.networkMap(for: dev, at: 0).dns == nil)
        // The admin's own resolvers follow ferryd's, the zone last (a search domain).
        let both = Self.compiler(servesDNS: true, zone: "dev.example.internal", dns: [IPAddress("10.0.0.2")!])
        #expect(both.peerConfig(for: dev, at: 0).render().contains("DNS = 10.10.0.1, 10.0.0.2, dev.example.internal\n"))
        // A gateway's own map carries no DNS part (it is the server).
        let gw = try #require(on.topology.peers.first { $0.id == "gw1" })
        #expect(on.networkMap(for: gw, at: 0).dns == nil)
    }

    @Test func recordValues() {
        #expect(ZoneRecordValue.parse("10.0.0.5", type: .A) == .address(IPAddress("10.0.0.5")!))
        #expect(ZoneRecordValue.parse("fd00::5", type: .A) == nil)
        #expect(ZoneRecordValue.parse("10.0.0.5", type: .AAAA) == nil)
        #expect(ZoneRecordValue.parse("Git.Corp.Internal.", type: .CNAME)?.text == "git.corp.internal")
        #expect(ZoneRecordValue.parse("git corp", type: .CNAME) == nil)
        #expect(ZoneRecordValue.parse("10 5 22 alice.z", type: .SRV)?.text == "10 5 22 alice.z")
        #expect(ZoneRecordValue.parse("10 5 70000 alice.z", type: .SRV) == nil)
        #expect(ZoneRecordValue.parse("10 5 22", type: .SRV) == nil)
    }

    @Test func validation() throws {
        #expect(try Validate.zone("Dev.Example.Internal.") == "dev.example.internal")
        #expect(try Validate.zone("") == "")
        #expect(throws: APIError.self) { try Validate.zone("internal") }
        #expect(throws: APIError.self) { try Validate.zone("a..b") }
        #expect(try Validate.upstreams(["10.0.0.2", "10.0.0.3:5353"]).map(\.description) == ["10.0.0.2:53", "10.0.0.3:5353"])
        #expect(throws: APIError.self) { try Validate.upstreams(["dns.example.com:53"]) }
        #expect(throws: APIError.self) { try Validate.upstreams(["1.1.1.1", "1.1.1.2", "1.1.1.3", "1.1.1.4", "1.1.1.5"]) }
        #expect(try Validate.recordName("_SSH._tcp").key == "_ssh._tcp")
        #expect(throws: APIError.self) { try Validate.recordName("a b") }
        #expect(NetworkSettings(name: "acme", ipv4: IPPrefix("10.0.0.0/16")!, ipv6: nil).zone.key == "acme.ferry.internal")
    }
}

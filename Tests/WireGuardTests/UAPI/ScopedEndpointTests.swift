import Testing
@testable import WireGuard

/// IPv6 link-local endpoints carry a scope: `[fe80::1%2]:51820`, or an interface name that
/// the platform's resolver turns into its index.
@Suite struct ScopedEndpointTests {
    @Test func numericScopeParsesAndRendersBack() throws {
        let e = try #require(Endpoint("[fe80::1%2]:51820"))
        #expect(e.scope == 2)
        #expect(e.port == 51820)
        #expect(e.description == "[fe80::1%2]:51820")
        #expect(e != Endpoint("[fe80::1]:51820"))
        #expect(Endpoint("[fe80::1]:51820")?.scope == 0)
    }

    @Test func badScopesAreRefused() {
        for text in ["[fe80::1%]:51820", "[fe80::1%0]:51820", "[fe80::1%99999999999]:51820", "[fe80::1%abcdefghijklmnopq]:1",
                     "[fe80::1%%2]:1", "1.2.3.4%2:51820", "[fe80::1%nosuchif]:51820"] {
            #expect(Endpoint(text) == nil, "\(text)")
        }
    }

    @Test func aSetRequestCarriesTheScopeAndRendersIt() throws {
        let key = PrivateKey.generate().publicKey.hex
        let request = try UAPI.parse("set=1\npublic_key=\(key)\nendpoint=[fe80::1234%7]:51820\n\n")
        guard case .set(let set) = request else {
            Issue.record("not a set: \(request)")
            return
        }
        let endpoints = set.peers.flatMap(\.changes).compactMap { change -> Endpoint? in
            if case .endpoint(let e) = change { return e }
            return nil
        }
        let e = try #require(endpoints.first)
        #expect(e.scope == 7)
        #expect(UAPI.render(set).contains("endpoint=[fe80::1234%7]:51820"))
    }
}

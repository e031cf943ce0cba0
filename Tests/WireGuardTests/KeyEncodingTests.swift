import Testing
@testable import WireGuard

/// RFC 7748 §6.1 (Alice's key pair), also checked with `wg pubkey`.
private let alicePrivateHex = "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"
private let alicePrivateBase64 = "dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo="
private let alicePublicBase64 = "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo="

@Suite struct KeyEncodingTests {
    @Test func base64AndHexRoundTrip() throws {
        let key = try PrivateKey(hex: alicePrivateHex)
        #expect(key.base64 == alicePrivateBase64)
        #expect(try PrivateKey(base64: alicePrivateBase64) == key)
        #expect(key.hex == alicePrivateHex)
        #expect(try PrivateKey(hex: alicePrivateHex.uppercased()) == key)
    }

    @Test func publicKeyDerivation() throws {
        let key = try PrivateKey(base64: alicePrivateBase64)
        #expect(key.publicKey.base64 == alicePublicBase64)
    }

    @Test(arguments: [
        "", "dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo", // missing pad
        "dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo==", // too long
        "dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LC*=", // bad character
        "dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCp=", // non-canonical trailing bits
    ])
    func base64Rejects(_ text: String) {
        #expect(throws: KeyError.invalidBase64) { try PublicKey(base64: text) }
    }

    @Test(arguments: ["", String(alicePrivateHex.dropLast()), alicePrivateHex + "00", "g" + alicePrivateHex.dropFirst()])
    func hexRejects(_ text: String) {
        #expect(throws: KeyError.invalidHex) { try PublicKey(hex: text) }
    }

    @Test func generatedKeysAreClampedAndDescriptionsRedacted() {
        var rng = SystemRandomNumberGenerator()
        let key = PrivateKey.generate(using: &rng)
        let b = key.rawValue.bytes
        #expect(b[0] & 7 == 0)
        #expect(b[31] & 128 == 0)
        #expect(b[31] & 64 == 64)
        #expect(!"\(key)".contains(key.base64))
        #expect(!"\(PresharedKey.generate())".contains("="))
    }
}

@Suite struct IPAddressTests {
    @Test(arguments: [
        ("::", "::"), ("::1", "::1"), ("1::", "1::"), ("fd00:0:0:0:0:0:0:1", "fd00::1"),
        ("2001:DB8:0:0:1:0:0:1", "2001:db8::1:0:0:1"), ("1:0:0:2:0:0:0:3", "1:0:0:2::3"),
        ("::ffff:10.1.2.3", "::ffff:10.1.2.3"), ("1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"),
        ("64:ff9b::192.0.2.33", "64:ff9b::c000:221"),
    ])
    func ipv6Canonical(_ input: String, _ expected: String) throws {
        let a = try #require(IPv6Address(input))
        #expect(a.description == expected)
        #expect(IPv6Address(a.description) == a)
    }

    @Test(arguments: [":", ":::", "1:::2", "1::2::3", "1:2:3:4:5:6:7:8:9", "12345::", "1:2", "::g", "1:", ":1", "1::2:3:4:5:6:7:8"])
    func ipv6Rejects(_ input: String) {
        #expect(IPv6Address(input) == nil)
    }

    @Test(arguments: ["1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4", "1..2.3", "a.b.c.d", "", "1.2.3.4 "])
    func ipv4Rejects(_ input: String) {
        #expect(IPv4Address(input) == nil)
    }

    @Test func prefixes() throws {
        let p = try #require(IPPrefix("10.1.2.3/8"))
        #expect(p.network.description == "10.0.0.0/8")
        #expect(!p.isNetwork)
        #expect(p.contains(try #require(IPAddress("10.200.0.1"))))
        #expect(!p.contains(try #require(IPAddress("11.0.0.1"))))
        #expect(IPPrefix("10.0.0.0/33") == nil)
        #expect(IPPrefix("10.0.0.0/") == nil)
        #expect(IPPrefix("fd00::/129") == nil)
        #expect(IPPrefix("fd00::1/64")?.network.description == "fd00::/64")
        #expect(IPPrefix("0.0.0.0/0")?.contains(try #require(IPAddress("1.2.3.4"))) == true)
        #expect(IPPrefix("::/0")?.contains(try #require(IPAddress("1.2.3.4"))) == false)
        #expect(IPPrefix("10.0.0.1")?.length == 32)
    }

    @Test func endpoints() {
        #expect(Endpoint("1.2.3.4:51820")?.port == 51820)
        #expect(Endpoint("[fd00::1]:1")?.description == "[fd00::1]:1")
        #expect(Endpoint("1.2.3.4:65536") == nil)
        #expect(Endpoint("fd00::1:80") == nil)
        #expect(Endpoint("1.2.3.4") == nil)
    }
}

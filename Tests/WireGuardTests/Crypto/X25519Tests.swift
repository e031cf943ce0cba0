import Testing
@testable import WireGuard

private struct RFC7748: Decodable {
    struct Multiplication: Decodable { let scalar, u, output: Hex }
    struct Iterated: Decodable {
        struct Step: Decodable { let iterations: Int; let k: Hex }
        let start: Hex
        let after: [Step]
    }
    struct DiffieHellman: Decodable { let alicePrivate, alicePublic, bobPrivate, bobPublic, shared: Hex }
    let scalarMultiplication: [Multiplication]
    let iterated: Iterated
    let diffieHellman: DiffieHellman
}

private func xdhCases() throws -> [WycheproofXDHTest] {
    try Vectors.load("wycheproof/x25519_test.json", as: WycheproofFile<WycheproofXDHTest>.self).tests
}

@Suite struct X25519Tests {
    @Test func rfc7748Section52() throws {
        let v = try Vectors.load("rfc7748-x25519.json", as: RFC7748.self)
        #expect(v.scalarMultiplication.count == 2)
        for c in v.scalarMultiplication {
            let shared = X25519.sharedSecret(try PrivateKey(bytes: c.scalar.bytes), try PublicKey(bytes: c.u.bytes))
            #expect(shared?.bytes == c.output.bytes)
        }
    }

    @Test func rfc7748Section52Iterated() throws {
        let v = try Vectors.load("rfc7748-x25519.json", as: RFC7748.self).iterated
        var k = try #require(Bytes32(bytes: v.start.bytes))
        var u = k
        var done = 0
        for step in v.after {
            while done < step.iterations {
                let r = try #require(X25519.sharedSecret(PrivateKey(rawValue: k), PublicKey(rawValue: u)))
                u = k
                k = r
                done += 1
            }
            #expect(k.bytes == step.k.bytes, "after \(step.iterations)")
        }
    }

    @Test func rfc7748Section61() throws {
        let v = try Vectors.load("rfc7748-x25519.json", as: RFC7748.self).diffieHellman
        let alice = try PrivateKey(bytes: v.alicePrivate.bytes), bob = try PrivateKey(bytes: v.bobPrivate.bytes)
        #expect(X25519.publicKey(for: alice).rawValue.bytes == v.alicePublic.bytes)
        #expect(bob.publicKey.rawValue.bytes == v.bobPublic.bytes)
        #expect(X25519.sharedSecret(alice, bob.publicKey)?.bytes == v.shared.bytes)
        #expect(X25519.sharedSecret(bob, alice.publicKey)?.bytes == v.shared.bytes)
    }

    /// Every case: the given shared secret, or nil where it is all zeros (low-order points).
    @Test(arguments: try xdhCases())
    func wycheproof(_ c: WycheproofXDHTest) throws {
        let shared = X25519.sharedSecret(try PrivateKey(bytes: c.private.bytes), try PublicKey(bytes: c.public.bytes))
        if c.shared.bytes.allSatisfy({ $0 == 0 }) {
            #expect(shared == nil)
        } else {
            #expect(shared?.bytes == c.shared.bytes)
        }
    }

    @Test func wycheproofFileIsComplete() throws {
        let file = try Vectors.load("wycheproof/x25519_test.json", as: WycheproofFile<WycheproofXDHTest>.self)
        #expect(file.tests.count == file.numberOfTests)
        #expect(file.numberOfTests == 518)
        #expect(file.tests.filter { $0.shared.bytes.allSatisfy { $0 == 0 } }.count == 31)
    }

    @Test func zeroPublicKeyIsRejected() {
        #expect(X25519.sharedSecret(PrivateKey.generate(), PublicKey(rawValue: .zero)) == nil)
    }
}

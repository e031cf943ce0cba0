import FerryDNS
import FerryTestSupport
import Testing

@Suite struct DNSCodecTests {
    func name(_ s: String) throws -> DNSName { try #require(DNSName(s)) }

    /// `dig git.example.internal A` as dig 9.18 sends it (with EDNS and a cookie), and the
    /// answer BIND would give with a CNAME and compression: both parse, and re-encoding
    /// the query gives the same bytes.
    @Test func realQueryBytes() throws {
        let q: [UInt8] = [
            0x8a, 0x1c, 0x01, 0x20, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
            0x03, 0x67, 0x69, 0x74, 0x07, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x08, 0x69, 0x6e, 0x74, 0x65, 0x72, 0x6e, 0x61, 0x6c, 0x00,
            0x00, 0x01, 0x00, 0x01,
            0x00, 0x00, 0x29, 0x04, 0xd0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0c, 0x00, 0x0a, 0x00, 0x08, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
        ]
        let m = try DNSMessage(parsing: q)
        #expect(m.id == 0x8a1c && m.flags.recursionDesired && !m.flags.isResponse)
        #expect(m.questions == [DNSQuestion(name: try name("git.example.internal"), type: DNSType.a)])
        #expect(m.ednsPayloadSize == 1232)
        #expect(m.encode() == q)
    }

    @Test func roundTripWithCompression() throws {
        let zone = try name("dev.ferry.internal")
        var m = DNSMessage(id: 7, flags: DNSFlags(raw: 0x8400), questions: [DNSQuestion(name: try name("git.dev.ferry.internal"), type: DNSType.a)])
        m.answers = [
            DNSRecord(name: try name("git.dev.ferry.internal"), ttl: 60, data: .cname(try name("alice.dev.ferry.internal"))),
            DNSRecord(name: try name("alice.dev.ferry.internal"), ttl: 60, data: .a(0x0a0a_0102)),
            DNSRecord(name: try name("alice.dev.ferry.internal"), ttl: 60, data: .aaaa(high: 0xfd00_0000_0000_0001, low: 5)),
            DNSRecord(name: try name("_ssh._tcp.dev.ferry.internal"), ttl: 60,
                      data: .srv(priority: 10, weight: 5, port: 22, target: try name("alice.dev.ferry.internal"))),
        ]
        m.authority = [DNSRecord(name: zone, ttl: 60, data: .soa(mname: try name("ns.dev.ferry.internal"), rname: try name("hostmaster.dev.ferry.internal"),
                                                               serial: 1, refresh: 2, retry: 3, expire: 4, minimum: 5))]
        m.additional = [DNSRecord.opt(payloadSize: 1232)]
        let bytes = m.encode()
        #expect(try DNSMessage(parsing: bytes) == m)
        // Compression happened: the uncompressed form is far longer.
        #expect(bytes.count < 220)
        // Names are compressed case-insensitively (RFC 4343): a later name takes the case
        // of the first; the question, written first, keeps its own (0x20 randomisation).
        var mixed = m
        mixed.questions[0].name = try name("GiT.dev.ferry.internal")
        let parsed = try DNSMessage(parsing: mixed.encode())
        #expect(parsed.questions[0].name.description == "GiT.dev.ferry.internal")
        #expect(parsed.answers.map(\.name.key) == m.answers.map(\.name.key))
    }

    @Test func truncationKeepsQuestionsAndOPT() throws {
        var m = DNSMessage(id: 1, flags: DNSFlags(raw: 0x8400), questions: [DNSQuestion(name: try name("big.z"), type: DNSType.a)])
        m.answers = (0..<100).map { DNSRecord(name: DNSName("big.z")!, ttl: 5, data: .a(UInt32($0))) }
        m.additional = [.opt(payloadSize: 512)]
        let full = m.encode()
        #expect(full.count > 512)
        let cut = m.encode(limit: 512)
        #expect(cut.count <= 512)
        let parsed = try DNSMessage(parsing: cut)
        #expect(parsed.flags.truncated)
        #expect(parsed.questions == m.questions)
        #expect(parsed.answers.count > 10 && parsed.answers.count < 100)
        #expect(parsed.answers == Array(m.answers.prefix(parsed.answers.count)))
        #expect(parsed.ednsPayloadSize == 512)
        #expect(!(try DNSMessage(parsing: full)).flags.truncated)
    }

    @Test func pointerLoopsAndForwardPointersAreRejected() {
        let header: [UInt8] = [0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0]
        // A pointer to itself.
        #expect(throws: DNSParseError.badPointer(at: 12)) { try DNSMessage(parsing: header + [0xc0, 12, 0, 1, 0, 1]) }
        // A pointer forwards (to a name after it).
        #expect(throws: DNSParseError.badPointer(at: 12)) { try DNSMessage(parsing: header + [0xc0, 18, 0, 1, 0, 1, 1, 0x61, 0]) }
        // Two names pointing at each other: the second may point back, but then the first's
        // pointer would have to go forwards.
        var two: [UInt8] = [0, 1, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0]
        two += [1, 0x61, 0xc0, 18, 0, 1, 0, 1]  // name at 12: "a" then pointer to 18
        two += [1, 0x62, 0xc0, 12, 0, 1, 0, 1]  // name at 18: "b" then pointer to 12
        #expect(throws: DNSParseError.badPointer(at: 14)) { try DNSMessage(parsing: two) }
        // Reserved label types.
        #expect(throws: DNSParseError.badLabelType(at: 12)) { try DNSMessage(parsing: header + [0x40, 0, 0, 1, 0, 1]) }
    }

    @Test func exactLengths() throws {
        let header: [UInt8] = [0, 1, 0x84, 0, 0, 0, 0, 1, 0, 0, 0, 0]
        // An A record with 5 bytes of data.
        #expect(throws: DNSParseError.badRDataLength(type: 1, at: 23)) {
            try DNSMessage(parsing: header + [0, 0, 1, 0, 1, 0, 0, 0, 5, 0, 5, 1, 2, 3, 4, 5])
        }
        // A CNAME whose name runs past its data length into the next bytes.
        #expect(throws: DNSParseError.self) {
            try DNSMessage(parsing: header + [0, 0, 5, 0, 1, 0, 0, 0, 5, 0, 2, 1, 0x61, 0])
        }
        // A byte too many at the end.
        #expect(throws: DNSParseError.trailingBytes(count: 1)) { try DNSMessage(parsing: [0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9]) }
        // A name of 256 bytes.
        var long: [UInt8] = [0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0]
        for _ in 0..<4 { long += [63] + [UInt8](repeating: 0x61, count: 63) }
        long += [0, 0, 1, 0, 1]
        #expect(throws: DNSParseError.nameTooLong(at: 204)) { try DNSMessage(parsing: long) }
    }

    @Test func namesFromText() throws {
        #expect(DNSName("a..b") == nil)
        #expect(DNSName("a b") == nil)
        #expect(DNSName(String(repeating: "a", count: 64)) == nil)
        #expect(DNSName(String(repeating: "abcdefg.", count: 32)) == nil)
        #expect(try name("Git.Example.").key == "git.example")
        #expect(try name("job-1.ci.z").isSubdomain(of: try name("Z")))
        #expect(try name("job-1.ci.z").relative(to: try name("ci.z")) == [Array("job-1".utf8)])
        #expect(DNSName.root.description == ".")
    }

    @Test func tcpFraming() {
        var f = DNSTCPFramer()
        let a: [UInt8] = [1, 2, 3], b: [UInt8] = [4]
        let stream = DNSTCPFramer.frame(a) + DNSTCPFramer.frame(b)
        f.append(stream.prefix(3))
        #expect(f.next() == nil)
        f.append(stream.dropFirst(3))
        #expect(f.next() == a)
        #expect(f.next() == b)
        #expect(f.next() == nil)
    }

    /// Garbage and mutated real messages: the parser returns a value or an error, never
    /// traps; whatever parses re-encodes into bytes that parse to the same message.
    @Test func garbageNeverTraps() throws {
        var rng = SeededGenerator(seed: 0xd45)
        var seed = DNSMessage(id: 9, flags: DNSFlags(raw: 0x8180), questions: [DNSQuestion(name: try name("a.b.c"), type: DNSType.srv)])
        seed.answers = [DNSRecord(name: try name("a.b.c"), ttl: 1, data: .srv(priority: 1, weight: 2, port: 3, target: try name("x.b.c"))),
                        DNSRecord(name: try name("b.c"), ttl: 1, data: .cname(try name("a.b.c")))]
        let base = seed.encode()
        var parsed = 0
        for i in 0..<100_000 {
            var bytes: [UInt8]
            if i % 2 == 0 {
                bytes = (0..<Int.random(in: 0...80, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
                if bytes.count >= 12 { bytes[4] = 0; bytes[6] = 0; bytes[8] = 0; bytes[10] = 0 }
            } else {
                bytes = base
                for _ in 0..<Int.random(in: 1...4, using: &rng) {
                    bytes[Int.random(in: 0..<bytes.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
                }
                if Bool.random(using: &rng) { bytes.removeLast(Int.random(in: 0...8, using: &rng)) }
            }
            guard let m = try? DNSMessage(parsing: bytes) else { continue }
            parsed += 1
            #expect(try DNSMessage(parsing: m.encode()) == m)
        }
        #expect(parsed > 1000)
    }
}

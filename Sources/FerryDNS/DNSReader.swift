/// Why bytes are not a DNS message. Every path through the reader ends in a value or
/// one of these: nothing traps, whatever the bytes.
public enum DNSParseError: Error, Equatable, Sendable {
    case truncated(at: Int)
    case labelTooLong(at: Int)
    case nameTooLong(at: Int)
    /// A compression pointer that does not point strictly backwards (RFC 1035 §4.1.4
    /// allows only earlier occurrences), which is what makes loops impossible.
    case badPointer(at: Int)
    /// The 0b01/0b10 label types (RFC 6891 retired them).
    case badLabelType(at: Int)
    case badRDataLength(type: UInt16, at: Int)
    case trailingBytes(count: Int)
}

/// Reads a DNS message from bytes: exact lengths (every record's data must be consumed
/// exactly by its type's format), compression pointers only backwards and at most 127
/// of them per name.
struct DNSReader {
    let bytes: [UInt8]
    var offset = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    mutating func u8() throws(DNSParseError) -> UInt8 {
        guard offset < bytes.count else { throw .truncated(at: offset) }
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func u16() throws(DNSParseError) -> UInt16 {
        guard bytes.count - offset >= 2 else { throw .truncated(at: offset) }
        defer { offset += 2 }
        return UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])
    }

    mutating func u32() throws(DNSParseError) -> UInt32 {
        UInt32(try u16()) << 16 | UInt32(try u16())
    }

    mutating func take(_ n: Int) throws(DNSParseError) -> [UInt8] {
        guard n >= 0, bytes.count - offset >= n else { throw .truncated(at: offset) }
        defer { offset += n }
        return Array(bytes[offset..<offset + n])
    }

    /// A possibly compressed name. `offset` moves past the name's bytes at the place it
    /// starts (the first pointer ends it there). Each pointer must target an offset before
    /// the start of the run of labels that contains it, so the walk strictly moves towards
    /// the message's start and ends.
    mutating func name() throws(DNSParseError) -> DNSName {
        var labels: [[UInt8]] = []
        var wire = 1
        var pos = offset
        var runStart = offset
        var resume: Int?
        var jumps = 0
        while true {
            guard pos < bytes.count else { throw .truncated(at: pos) }
            let len = bytes[pos]
            switch len & 0xc0 {
            case 0x00:
                if len == 0 {
                    offset = resume ?? pos + 1
                    return DNSName(unchecked: labels)
                }
                let n = Int(len)
                guard bytes.count - (pos + 1) >= n else { throw .truncated(at: pos) }
                wire += n + 1
                guard wire <= DNSName.maxWireLength else { throw .nameTooLong(at: pos) }
                labels.append(Array(bytes[pos + 1..<pos + 1 + n]))
                pos += 1 + n
            case 0xc0:
                guard bytes.count - pos >= 2 else { throw .truncated(at: pos) }
                let target = Int(len & 0x3f) << 8 | Int(bytes[pos + 1])
                jumps += 1
                guard target < runStart, jumps <= 127 else { throw .badPointer(at: pos) }
                if resume == nil { resume = pos + 2 }
                pos = target
                runStart = target
            default:
                throw .badLabelType(at: pos)
            }
        }
    }

    mutating func question() throws(DNSParseError) -> DNSQuestion {
        DNSQuestion(name: try name(), type: try u16(), qclass: try u16())
    }

    mutating func record() throws(DNSParseError) -> DNSRecord {
        let owner = try name()
        let type = try u16(), rclass = try u16(), ttl = try u32()
        let length = Int(try u16())
        let start = offset
        guard bytes.count - start >= length else { throw .truncated(at: start) }
        let data = try rdata(type: type, length: length)
        guard offset - start == length else { throw .badRDataLength(type: type, at: start) }
        return DNSRecord(name: owner, rclass: rclass, ttl: ttl, data: data)
    }

    private mutating func rdata(type: UInt16, length: Int) throws(DNSParseError) -> DNSRData {
        let start = offset
        // Names inside the data must end inside it too.
        func inside(_ r: DNSReader) throws(DNSParseError) { if r.offset - start > length { throw .badRDataLength(type: type, at: start) } }
        switch type {
        case DNSType.a:
            guard length == 4 else { throw .badRDataLength(type: type, at: start) }
            return .a(try u32())
        case DNSType.aaaa:
            guard length == 16 else { throw .badRDataLength(type: type, at: start) }
            let h = UInt64(try u32()) << 32 | UInt64(try u32())
            let l = UInt64(try u32()) << 32 | UInt64(try u32())
            return .aaaa(high: h, low: l)
        case DNSType.cname, DNSType.ns, DNSType.ptr:
            let n = try name()
            try inside(self)
            return type == DNSType.cname ? .cname(n) : type == DNSType.ns ? .ns(n) : .ptr(n)
        case DNSType.srv:
            guard length >= 7 else { throw .badRDataLength(type: type, at: start) }
            let p = try u16(), w = try u16(), port = try u16()
            let t = try name()
            try inside(self)
            return .srv(priority: p, weight: w, port: port, target: t)
        case DNSType.soa:
            let m = try name()
            try inside(self)
            let r = try name()
            try inside(self)
            guard length - (offset - start) == 20 else { throw .badRDataLength(type: type, at: start) }
            return .soa(mname: m, rname: r, serial: try u32(), refresh: try u32(), retry: try u32(), expire: try u32(), minimum: try u32())
        default:
            return .other(type: type, bytes: try take(length))
        }
    }
}

extension DNSMessage {
    /// Parses a whole message; bytes after the last counted record are an error.
    public init(parsing bytes: [UInt8]) throws(DNSParseError) {
        var r = DNSReader(bytes)
        id = try r.u16()
        flags = DNSFlags(raw: try r.u16())
        let qd = try r.u16(), an = try r.u16(), ns = try r.u16(), ar = try r.u16()
        // Counts come from the sender: nothing is reserved from them, and each entry
        // consumes at least 5 bytes, so a lying count runs out of bytes quickly.
        questions = []
        for _ in 0..<qd { questions.append(try r.question()) }
        answers = []
        for _ in 0..<an { answers.append(try r.record()) }
        authority = []
        for _ in 0..<ns { authority.append(try r.record()) }
        additional = []
        for _ in 0..<ar { additional.append(try r.record()) }
        guard r.offset == bytes.count else { throw .trailingBytes(count: bytes.count - r.offset) }
    }

    /// The id and flags of something that at least has a header: enough to answer FORMERR.
    public static func header(of bytes: [UInt8]) -> (id: UInt16, flags: DNSFlags)? {
        guard bytes.count >= 12 else { return nil }
        return (UInt16(bytes[0]) << 8 | UInt16(bytes[1]), DNSFlags(raw: UInt16(bytes[2]) << 8 | UInt16(bytes[3])))
    }
}

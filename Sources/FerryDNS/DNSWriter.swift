/// Writes DNS messages with name compression (RFC 1035 §4.1.4): each name's suffixes are
/// remembered by their lowercased labels at the offset they were first written (while the
/// offset fits the 14-bit pointer), and a later name ends in a pointer to the longest
/// known suffix.
struct DNSWriter {
    private(set) var bytes: [UInt8] = []
    private var suffixes: [[[UInt8]]: Int] = [:]

    mutating func u8(_ v: UInt8) { bytes.append(v) }
    mutating func u16(_ v: UInt16) { bytes.append(UInt8(truncatingIfNeeded: v >> 8)); bytes.append(UInt8(truncatingIfNeeded: v)) }
    mutating func u32(_ v: UInt32) { u16(UInt16(truncatingIfNeeded: v >> 16)); u16(UInt16(truncatingIfNeeded: v)) }

    mutating func name(_ n: DNSName, compress: Bool = true) {
        let lower = n.labels.map(DNSName.lowercased)
        for i in n.labels.indices {
            let suffix = Array(lower[i...])
            if compress, let at = suffixes[suffix] {
                u16(0xc000 | UInt16(truncatingIfNeeded: at))
                return
            }
            if bytes.count < 0x4000, suffixes[suffix] == nil { suffixes[suffix] = bytes.count }
            u8(UInt8(truncatingIfNeeded: n.labels[i].count))
            bytes += n.labels[i]
        }
        u8(0)
    }

    mutating func question(_ q: DNSQuestion) {
        name(q.name)
        u16(q.type)
        u16(q.qclass)
    }

    mutating func record(_ r: DNSRecord) {
        name(r.name)
        u16(r.type)
        u16(r.rclass)
        u32(r.ttl)
        let lengthAt = bytes.count
        u16(0)
        switch r.data {
        case .a(let v): u32(v)
        case .aaaa(let h, let l):
            u32(UInt32(truncatingIfNeeded: h >> 32)); u32(UInt32(truncatingIfNeeded: h))
            u32(UInt32(truncatingIfNeeded: l >> 32)); u32(UInt32(truncatingIfNeeded: l))
        case .cname(let n), .ns(let n), .ptr(let n): name(n)
        case .srv(let p, let w, let port, let t):
            u16(p); u16(w); u16(port)
            name(t, compress: false)  // RFC 2782: the target is not compressed
        case .soa(let m, let rn, let serial, let refresh, let retry, let expire, let minimum):
            name(m); name(rn)
            u32(serial); u32(refresh); u32(retry); u32(expire); u32(minimum)
        case .other(_, let b): bytes += b.prefix(Int(UInt16.max))
        }
        let length = bytes.count - lengthAt - 2
        bytes[lengthAt] = UInt8(truncatingIfNeeded: length >> 8)
        bytes[lengthAt + 1] = UInt8(truncatingIfNeeded: length)
    }

    mutating func rollback(to mark: (count: Int, suffixes: [[[UInt8]]: Int])) {
        bytes.removeSubrange(mark.count...)
        suffixes = mark.suffixes
    }

    var mark: (count: Int, suffixes: [[[UInt8]]: Int]) { (bytes.count, suffixes) }
}

extension DNSMessage {
    /// The message's bytes, at most `limit` long (at least the header and the questions).
    /// Records that do not fit are left out from the first that does not, and TC is set
    /// (RFC 2181 §9), so the client retries over TCP. OPT records are written last and
    /// always, with room kept for them.
    public func encode(limit: Int = 65535) -> [UInt8] {
        let limit = min(max(limit, 12), 65535)
        var w = DNSWriter()
        w.u16(id)
        w.u16(flags.raw)
        let opts = additional.filter { $0.type == DNSType.opt }.prefix(1)
        let others = additional.filter { $0.type != DNSType.opt }
        for c in [questions.count, answers.count, authority.count, others.count + opts.count] {
            w.u16(UInt16(clamping: c))
        }
        for q in questions.prefix(Int(UInt16.max)) { w.question(q) }
        var optBytes = 0
        for o in opts { var t = DNSWriter(); t.record(o); optBytes += t.bytes.count }
        var counts = [answers.count, authority.count, others.count].map { min($0, Int(UInt16.max)) }
        var truncated = false
        outer: for (section, records) in [answers, authority, others].enumerated() {
            for (i, r) in records.prefix(Int(UInt16.max)).enumerated() {
                let mark = w.mark
                w.record(r)
                if w.bytes.count + optBytes > limit {
                    w.rollback(to: mark)
                    counts[section] = i
                    for later in section + 1..<3 { counts[later] = 0 }
                    truncated = true
                    break outer
                }
            }
        }
        for o in opts { w.record(o) }
        var out = w.bytes
        func put(_ v: Int, at i: Int) { out[i] = UInt8(truncatingIfNeeded: v >> 8); out[i + 1] = UInt8(truncatingIfNeeded: v) }
        put(counts[0], at: 6)
        put(counts[1], at: 8)
        put(counts[2] + opts.count, at: 10)
        if truncated { out[2] |= 0x02 }
        return out
    }
}

/// Splits a TCP byte stream into DNS messages, each preceded by its 16-bit length
/// (RFC 1035 §4.2.2, RFC 7766).
public struct DNSTCPFramer: Sendable {
    private var buffer: [UInt8] = []
    public init() {}

    public mutating func append(_ bytes: some Sequence<UInt8>) { buffer += bytes }

    /// The next whole message, if one has arrived.
    public mutating func next() -> [UInt8]? {
        guard buffer.count >= 2 else { return nil }
        let n = Int(buffer[0]) << 8 | Int(buffer[1])
        guard buffer.count - 2 >= n else { return nil }
        let msg = Array(buffer[2..<2 + n])
        buffer.removeFirst(2 + n)
        return msg
    }

    /// `message` with its length prefix (messages are at most 65535 bytes by construction).
    public static func frame(_ message: [UInt8]) -> [UInt8] {
        let n = min(message.count, 65535)
        return [UInt8(truncatingIfNeeded: n >> 8), UInt8(truncatingIfNeeded: n)] + message.prefix(n)
    }
}

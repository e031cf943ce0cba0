/// Record types this codec knows by name (RFC 1035, 3596, 2782, 6891); others travel as
/// `.other` with their bytes.
public enum DNSType {
    public static let a: UInt16 = 1
    public static let ns: UInt16 = 2
    public static let cname: UInt16 = 5
    public static let soa: UInt16 = 6
    public static let ptr: UInt16 = 12
    public static let mx: UInt16 = 15
    public static let txt: UInt16 = 16
    public static let aaaa: UInt16 = 28
    public static let srv: UInt16 = 33
    public static let opt: UInt16 = 41
    public static let any: UInt16 = 255
}

public enum DNSClass {
    public static let internet: UInt16 = 1
}

/// Response codes (RFC 1035 §4.1.1).
public enum DNSRCode: UInt8, Sendable {
    case noError = 0, formErr = 1, servFail = 2, nxDomain = 3, notImp = 4, refused = 5
}

/// The header's second 16 bits, with accessors for the fields Ferry uses.
public struct DNSFlags: Hashable, Sendable {
    public var raw: UInt16
    public init(raw: UInt16 = 0) { self.raw = raw }

    private func bit(_ n: UInt16) -> Bool { raw & (1 << n) != 0 }
    private mutating func set(_ n: UInt16, _ v: Bool) { raw = v ? raw | (1 << n) : raw & ~(1 << n) }

    public var isResponse: Bool { get { bit(15) } set { set(15, newValue) } }
    public var opcode: UInt8 { get { UInt8(truncatingIfNeeded: (raw >> 11) & 0xf) } set { raw = raw & ~0x7800 | (UInt16(newValue & 0xf) << 11) } }
    public var authoritative: Bool { get { bit(10) } set { set(10, newValue) } }
    public var truncated: Bool { get { bit(9) } set { set(9, newValue) } }
    public var recursionDesired: Bool { get { bit(8) } set { set(8, newValue) } }
    public var recursionAvailable: Bool { get { bit(7) } set { set(7, newValue) } }
    public var checkingDisabled: Bool { get { bit(4) } set { set(4, newValue) } }
    public var rcode: UInt8 { get { UInt8(truncatingIfNeeded: raw & 0xf) } set { raw = raw & ~0xf | UInt16(newValue & 0xf) } }
}

public struct DNSQuestion: Hashable, Sendable {
    public var name: DNSName
    public var type: UInt16
    public var qclass: UInt16
    public init(name: DNSName, type: UInt16, qclass: UInt16 = DNSClass.internet) {
        self.name = name; self.type = type; self.qclass = qclass
    }
}

/// A record's data, typed where Ferry serves or reads it.
public enum DNSRData: Hashable, Sendable {
    case a(UInt32)
    case aaaa(high: UInt64, low: UInt64)
    case cname(DNSName)
    case ns(DNSName)
    case ptr(DNSName)
    case srv(priority: UInt16, weight: UInt16, port: UInt16, target: DNSName)
    case soa(mname: DNSName, rname: DNSName, serial: UInt32, refresh: UInt32, retry: UInt32, expire: UInt32, minimum: UInt32)
    /// OPT's options, and every type not above: kept as bytes (at most 65535).
    case other(type: UInt16, bytes: [UInt8])

    public var type: UInt16 {
        switch self {
        case .a: DNSType.a
        case .aaaa: DNSType.aaaa
        case .cname: DNSType.cname
        case .ns: DNSType.ns
        case .ptr: DNSType.ptr
        case .srv: DNSType.srv
        case .soa: DNSType.soa
        case .other(let t, _): t
        }
    }
}

public struct DNSRecord: Hashable, Sendable {
    public var name: DNSName
    /// The class; for OPT, the requester's UDP payload size (RFC 6891 §6.1.2).
    public var rclass: UInt16
    /// For OPT, the extended RCODE and flags.
    public var ttl: UInt32
    public var data: DNSRData

    public init(name: DNSName, rclass: UInt16 = DNSClass.internet, ttl: UInt32, data: DNSRData) {
        self.name = name; self.rclass = rclass; self.ttl = ttl; self.data = data
    }

    public var type: UInt16 { data.type }

    /// An EDNS(0) OPT pseudo-record advertising `payloadSize`.
    public static func opt(payloadSize: UInt16) -> DNSRecord {
        DNSRecord(name: .root, rclass: payloadSize, ttl: 0, data: .other(type: DNSType.opt, bytes: []))
    }
}

/// A whole DNS message (RFC 1035 §4.1).
public struct DNSMessage: Hashable, Sendable {
    public var id: UInt16
    public var flags: DNSFlags
    public var questions: [DNSQuestion]
    public var answers: [DNSRecord]
    public var authority: [DNSRecord]
    public var additional: [DNSRecord]

    public init(id: UInt16, flags: DNSFlags = DNSFlags(), questions: [DNSQuestion] = [], answers: [DNSRecord] = [],
                authority: [DNSRecord] = [], additional: [DNSRecord] = []) {
        self.id = id; self.flags = flags; self.questions = questions
        self.answers = answers; self.authority = authority; self.additional = additional
    }

    /// The requester's EDNS(0) UDP payload size, if it sent an OPT record.
    public var ednsPayloadSize: UInt16? {
        additional.first { $0.type == DNSType.opt }.map(\.rclass)
    }
}

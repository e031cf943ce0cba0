import FerryCore
import FerryDNS
import Logging
import WireGuard

/// Turns one query's bytes into the reply's bytes: parse, answer from the zone for the
/// peer the source address belongs to, forward the rest upstream (or refuse it), and fit
/// the reply to UDP's size with TC set so the client retries over TCP.
struct DNSResponder: Sendable {
    let store: FerryStore
    let forwarder: DNSForwarder
    let logger: Logger

    /// What a UDP reply may use: 512 bytes without EDNS (RFC 1035 §4.2.1), else the
    /// client's size up to 1232 (the DNS flag day 2020 value: no IP fragmentation).
    static let ednsPayloadSize: UInt16 = 1232

    enum Transport { case udp, tcp }

    /// nil: drop (not even a header, or a response sent to us).
    func respond(_ bytes: [UInt8], from client: IPAddress, over transport: Transport) async -> [UInt8]? {
        guard let header = DNSMessage.header(of: bytes), !header.flags.isResponse else { return nil }
        let query: DNSMessage
        do { query = try DNSMessage(parsing: bytes) } catch {
            return Self.error(id: header.id, flags: header.flags, rcode: .formErr).encode()
        }
        let limit = transport == .tcp ? 65535
            : query.ednsPayloadSize.map { Int(min(max($0, 512), Self.ednsPayloadSize)) } ?? 512
        var reply = DNSMessage(id: query.id, questions: query.questions)
        reply.flags.isResponse = true
        reply.flags.opcode = query.flags.opcode
        reply.flags.recursionDesired = query.flags.recursionDesired
        if query.ednsPayloadSize != nil { reply.additional = [.opt(payloadSize: Self.ednsPayloadSize)] }
        guard query.flags.opcode == 0 else { reply.flags.rcode = DNSRCode.notImp.rawValue; return reply.encode(limit: limit) }
        guard query.questions.count == 1, let q = query.questions.first else {
            reply.flags.rcode = DNSRCode.formErr.rawValue
            return reply.encode(limit: limit)
        }
        let index: ZoneIndex
        do { index = try await store.zoneIndex() } catch {
            logger.error("dns: the zone could not be read", metadata: ["error": .string("\(error)")])
            reply.flags.rcode = DNSRCode.servFail.rawValue
            return reply.encode(limit: limit)
        }
        reply.flags.recursionAvailable = !index.upstreams.isEmpty
        switch index.resolve(q, client: client, now: store.clock.now()) {
        case .answer(let rcode, let answers, let authority):
            reply.flags.authoritative = true
            reply.flags.rcode = rcode.rawValue
            reply.answers = answers
            reply.authority = authority
            return reply.encode(limit: limit)
        case .refused:
            reply.flags.rcode = DNSRCode.refused.rawValue
            return reply.encode(limit: limit)
        case .forward:
            if let upstream = await forwarder.forward(bytes, id: query.id, to: index.upstreams, overTCP: transport == .tcp) { return upstream }
            reply.flags.rcode = DNSRCode.servFail.rawValue
            return reply.encode(limit: limit)
        }
    }

    static func error(id: UInt16, flags: DNSFlags, rcode: DNSRCode) -> DNSMessage {
        var f = DNSFlags()
        f.isResponse = true
        f.opcode = flags.opcode
        f.recursionDesired = flags.recursionDesired
        f.rcode = rcode.rawValue
        return DNSMessage(id: id, flags: f)
    }
}

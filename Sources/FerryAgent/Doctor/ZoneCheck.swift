import FerryCore
import FerryDNS
import Foundation
import WireGuard

/// Looks names up two ways: straight at a DNS server (the zone's, through the tunnel), and
/// the way programs on this machine do (getaddrinfo, so resolv.conf or systemd-resolved).
public protocol ZoneLookup: Sendable {
    /// The A records the server gives for `name`; nil when it did not answer in time.
    func ask(server: IPAddress, name: DNSName) async -> [IPv4Address]?
    /// The IPv4 addresses the system resolver gives for `name`.
    func system(_ name: String) async -> [IPv4Address]
}

/// `ferry doctor`'s DNS check: the zone's server answers this peer's own name with its
/// address through the tunnel, and the machine's resolver sends the zone there.
public struct ZoneCheck: DoctorCheck {
    public let name = "dns"
    public var prerequisites: [String] { ["handshake"] }
    let map: NetworkMap
    let lookup: any ZoneLookup

    public init(map: NetworkMap, lookup: any ZoneLookup) {
        self.map = map
        self.lookup = lookup
    }

    public func run() async -> DoctorResult {
        guard let dns = map.dns else { return skip("no gateway answers DNS for this network (ferryd runs no --gateway)") }
        guard let server = IPAddress(dns.server), let qname = DNSName("\(map.name).\(dns.zone)") else {
            return fail("the coordinator's DNS settings do not parse (\(dns.server), \(dns.zone))", fix: ["report this: the map is ferryd's"])
        }
        let own = map.interface.addresses.compactMap { IPPrefix($0)?.address }.compactMap { a -> IPv4Address? in
            if case .v4(let v) = a { return v } else { return nil }
        }
        let details = ["zone": dns.zone, "server": dns.server, "name": qname.key]
        guard let answer = await lookup.ask(server: server, name: qname) else {
            return fail("\(dns.server) did not answer DNS for \(qname.key) through the tunnel",
                        fix: ["check that ferryd runs with --gateway and that the gateway's firewall accepts udp/53 to \(dns.server)",
                              "dig @\(dns.server) \(qname.key) shows the answer, if any"], details: details)
        }
        guard !answer.isEmpty, Set(answer).isSubset(of: Set(own)) else {
            return fail("\(dns.server) answers \(qname.key) with \(answer.isEmpty ? "nothing" : answer.map(\.description).joined(separator: ", ")), not this peer's \(own.map(\.description).joined(separator: ", "))",
                        fix: ["the coordinator's zone does not know this peer: compare 'ferry status' with 'ferry peers ls'"], details: details)
        }
        let system = await lookup.system(qname.key)
        guard Set(system) == Set(answer) else {
            return warn("the zone answers (\(qname.key) is \(answer[0])), but this machine's resolver \(system.isEmpty ? "does not find it" : "says \(system.map(\.description).joined(separator: ", "))")",
                        fix: ["'ferry up' configures it: systemd-resolved (resolvectl domain IFACE ~\(dns.zone)) or /etc/resolv.conf (docs/dns.md)",
                              "see the agent's log for the line starting with 'DNS'"], details: details)
        }
        return pass("\(qname.key) resolves to \(answer[0]) through \(dns.server) and through this machine's resolver", details: details)
    }
}

/// The real lookups: a UDP query from a scratch socket, and getaddrinfo.
public struct SystemZoneLookup: ZoneLookup {
    public var timeoutMs: Int32 = 2000
    public init() {}

    /// Asks up to three times, as resolvers do (one lost datagram is not a broken zone).
    public func ask(server: IPAddress, name: DNSName) async -> [IPv4Address]? {
        for _ in 0..<3 {
            if let answer = askOnce(server: server, name: name) { return answer }
        }
        return nil
    }

    func askOnce(server: IPAddress, name: DNSName) -> [IPv4Address]? {
        guard case .v4(let s) = server else { return nil }
        let id = UInt16.random(in: 0...UInt16.max)
        var flags = DNSFlags()
        flags.recursionDesired = true
        let query = DNSMessage(id: id, flags: flags, questions: [DNSQuestion(name: name, type: DNSType.a)]).encode()
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(53).bigEndian
        addr.sin_addr.s_addr = s.value.bigEndian
        let sent = withUnsafePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                query.withUnsafeBytes { sendto(fd, $0.baseAddress, $0.count, 0, sa, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
        }
        guard sent == query.count else { return nil }
        let deadline = Date().addingTimeInterval(Double(timeoutMs) / 1000)
        var buffer = [UInt8](repeating: 0, count: 1500)
        while Date() < deadline {
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, Int32(max(1, deadline.timeIntervalSinceNow * 1000))) > 0 else { continue }
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard n > 0, let reply = try? DNSMessage(parsing: Array(buffer.prefix(n))), reply.id == id, reply.flags.isResponse else { continue }
            return reply.answers.compactMap { r in if case .a(let v) = r.data { IPv4Address(v) } else { nil } }
        }
        return nil
    }

    public func system(_ name: String) async -> [IPv4Address] {
        var hints = addrinfo()
        hints.ai_family = AF_INET
        hints.ai_socktype = Int32(SOCK_DGRAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(name, nil, &hints, &result) == 0 else { return [] }
        defer { freeaddrinfo(result) }
        var out: [IPv4Address] = []
        var p = result
        while let ai = p {
            if let sa = ai.pointee.ai_addr, ai.pointee.ai_family == AF_INET {
                let v = sa.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.sin_addr.s_addr }
                out.append(IPv4Address(UInt32(bigEndian: v)))
            }
            p = ai.pointee.ai_next
        }
        return Array(Set(out))
    }
}

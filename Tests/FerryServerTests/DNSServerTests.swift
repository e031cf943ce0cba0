import FerryTestSupport
import Foundation
import Testing

let digAvailable: Bool = {
    let ok = (try? run(["dig", "-v"])) != nil
    if !ok { print("SKIPPED: the DNS tests need dig (Debian's dnsutils; scripts/install-test-deps.sh installs it)") }
    return ok
}()

/// ferryd's DNS server as peers use it, with dig (Debian's dnsutils) in a namespace the
/// test creates: ferryd answers on --dns-listen; each "peer" is its overlay address put on
/// the namespace's loopback, and dig sends from it (`-b`), which is how the server tells
/// who asks. An upstream resolver runs in a second namespace behind a veth pair.
@Suite(.serialized, .enabled(if: RootEnvironment.available && digAvailable, "needs root and dig"))
struct DNSServerTests {
    /// ferryd in `ns` with its API on loopback, driven with curl inside the namespace.
    final class Coordinator: @unchecked Sendable {
        let ns: NetworkNamespace
        let process: BackgroundProcess
        let token: String
        let data: String
        let dnsPort = 5353

        init(_ ns: NetworkNamespace) throws {
            self.ns = ns
            data = NSTemporaryDirectory() + "ferryd-dns-\(UUID().uuidString.prefix(8))"
            process = try ns.spawn([BuiltProducts.executable("ferryd").path, "serve", "--data", data, "--listen", "127.0.0.1:8080",
                                    "--dns-listen", "127.0.0.1:\(dnsPort)", "--log-level", "warning"])
            let p = process
            guard waitUntil(timeout: 60, { p.output.contains("listening on") }),
                  let t = p.output.split(whereSeparator: \.isWhitespace).first(where: { $0.hasPrefix("ferry_") }) else {
                throw CommandFailure(command: ["ferryd"], status: -1, output: p.output)
            }
            token = String(t)
        }

        @discardableResult
        func api(_ method: String, _ path: String, _ json: String? = nil) throws -> [String: Any] {
            var cmd = ["curl", "-sS", "-X", method, "-H", "Authorization: Bearer \(token)", "http://127.0.0.1:8080\(path)"]
            if let json { cmd += ["-H", "Content-Type: application/json", "-d", json] }
            let out = try ns.exec(cmd)
            if out.isEmpty { return [:] }
            let obj = try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any]
            if let e = obj?["error"] { Issue.record("\(method) \(path): \(e)") }
            return obj ?? [:]
        }

        /// dig from `source`; returns its whole output.
        func dig(_ args: [String], from source: String) throws -> String {
            try ns.exec(["dig", "@127.0.0.1", "-p", String(dnsPort), "-b", source, "+time=2", "+tries=1"] + args)
        }

        func short(_ name: String, _ type: String = "A", from source: String) throws -> [String] {
            try dig(["+short", name, type], from: source).split(separator: "\n").map(String.init)
        }

        func status(_ name: String, _ type: String = "A", from source: String) throws -> String {
            let out = try dig([name, type], from: source)
            return out.split(separator: "\n").first { $0.contains("status:") }
                .flatMap { $0.split(separator: ",").first { $0.contains("status:") } }
                .map { String($0.split(separator: ":").last ?? "").trimmingCharacters(in: .whitespaces) } ?? "none"
        }

        deinit { try? FileManager.default.removeItem(atPath: data) }
    }

    @Test func namesThroughTheServer() throws {
        let ns = try NetworkNamespace(prefix: "fdns")
        let up = try NetworkNamespace(prefix: "fdnu")
        defer { ns.close(); up.close() }
        let c = try Coordinator(ns)

        // An upstream resolver in the other namespace: answers every A query with 192.0.2.55;
        // names starting "many" get 40 addresses, over UDP only a truncated reply (TC).
        _ = try ns.link(to: up, address: "10.98.0.1/24", peerAddress: "10.98.0.2/24")
        let resolver = """
        import socket, struct, threading
        def answer(d):
            i = 12
            while d[i] != 0: i += 1 + d[i]
            q = d[12:i + 5]
            n = 40 if d[13:17] == b"many" else 1
            rr = b"".join(b"\\xc0\\x0c\\x00\\x01\\x00\\x01\\x00\\x00\\x00\\x3c\\x00\\x04" + bytes([192, 0, 2, 55 + k]) for k in range(n))
            return d[:2] + b"\\x81\\x80\\x00\\x01" + struct.pack(">H", n) + b"\\x00\\x00\\x00\\x00" + q + rr, n > 1, q
        def tcp():
            t = socket.socket(); t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); t.bind(("10.98.0.2", 53)); t.listen(8)
            while True:
                c, _ = t.accept()
                b = b""
                while len(b) < 2 or len(b) < 2 + struct.unpack(">H", b[:2])[0]: b += c.recv(4096)
                r, _, _ = answer(b[2:])
                c.sendall(struct.pack(">H", len(r)) + r); c.close()
        threading.Thread(target=tcp, daemon=True).start()
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("10.98.0.2", 53))
        while True:
            d, a = s.recvfrom(4096)
            r, many, q = answer(d)
            s.sendto(d[:2] + b"\\x83\\x80\\x00\\x01\\x00\\x00\\x00\\x00\\x00\\x00" + q if many else r, a)
        """
        _ = try up.spawn(["python3", "-c", resolver])

        for s in ["developers", "ci"] { try c.api("POST", "/v1/segments", #"{"name":"\#(s)"}"#) }
        // Developers reach developers and ci; ci reaches nobody.
        try c.api("POST", "/v1/policy/rules", #"{"from":"developers","toSegment":"developers"}"#)
        try c.api("POST", "/v1/policy/rules", #"{"from":"developers","toSegment":"ci"}"#)
        func peer(_ name: String, _ segment: String, ttl: Int? = nil) throws -> (v4: String, v6: String, id: String) {
            let ttlField = ttl.map { #","ttlSeconds":\#($0)"# } ?? ""
            let r = try c.api("POST", "/v1/peers", #"{"name":"\#(name)","segment":"\#(segment)","generateKey":true\#(ttlField)}"#)
            let p = r["peer"] as? [String: Any] ?? [:]
            let v4 = p["ipv4"] as? String ?? "", v6 = p["ipv6"] as? String ?? "", id = p["id"] as? String ?? ""
            try ns.exec(["ip", "addr", "add", "\(v4)/32", "dev", "lo"])
            return (v4, v6, id)
        }
        let alice = try peer("alice", "developers"), bob = try peer("bob", "developers")
        let carol = try peer("carol", "ci")
        let network = try c.api("GET", "/v1/network")
        let zone = try #require(network["dnsZone"] as? String)
        #expect(zone == "ferry.ferry.internal")

        try c.api("POST", "/v1/dns/records", #"{"name":"git","type":"CNAME","value":"git.corp.internal"}"#)
        try c.api("POST", "/v1/dns/records", #"{"name":"_ssh._tcp","type":"SRV","value":"10 5 22 alice.developers.\#(zone)"}"#)
        try c.api("POST", "/v1/dns/records", #"{"name":"wiki","type":"CNAME","value":"bob.\#(zone)"}"#)
        for i in 1...60 { try c.api("POST", "/v1/dns/records", #"{"name":"big","type":"A","value":"172.20.1.\#(i)"}"#) }
        try c.api("PATCH", "/v1/network", #"{"dnsUpstreams":["10.98.0.2"]}"#)

        // Its own name, both forms, A and AAAA; another developer; PTR.
        #expect(try c.short("alice.\(zone)", from: alice.v4) == [alice.v4])
        #expect(try c.short("ALICE.developers.\(zone)", from: alice.v4) == [alice.v4])
        #expect(try c.short("alice.\(zone)", "AAAA", from: alice.v4) == [alice.v6])
        #expect(try c.short("bob.developers.\(zone)", from: alice.v4) == [bob.v4])
        #expect(try c.dig(["+short", "-x", bob.v4], from: alice.v4).split(separator: "\n") == ["bob.developers.\(zone)."])
        // Custom records: a CNAME out of the zone, one into it (followed), SRV.
        #expect(try c.short("git.\(zone)", "CNAME", from: alice.v4) == ["git.corp.internal."])
        #expect(try c.short("wiki.\(zone)", from: alice.v4) == ["bob.\(zone).", bob.v4])
        #expect(try c.short("_ssh._tcp.\(zone)", "SRV", from: alice.v4) == ["10 5 22 alice.developers.\(zone)."])
        #expect(try c.status("nobody.\(zone)", from: alice.v4) == "NXDOMAIN")

        // CI may reach no developer: their names do not exist for it; its own does.
        #expect(try c.status("alice.\(zone)", from: carol.v4) == "NXDOMAIN")
        #expect(try c.dig(["+short", "-x", alice.v4], from: carol.v4).isEmpty)
        #expect(try c.short("carol.ci.\(zone)", from: carol.v4) == [carol.v4])
        #expect(try c.short("wiki.\(zone)", from: carol.v4) == ["bob.\(zone)."])
        // An address that is no peer's gets nothing.
        #expect(try c.status("alice.\(zone)", from: "127.0.0.1") == "REFUSED")

        // Upstream forwarding, for peers only.
        #expect(try c.short("example.org", from: alice.v4) == ["192.0.2.55"])
        #expect(try c.status("example.org", from: "127.0.0.1") == "REFUSED")
        // An upstream answer too big for UDP: the client retries over TCP, and over TCP
        // ferryd asks the upstream over TCP too.
        let many = try c.dig(["many.example.org", "A"], from: alice.v4)
        #expect(many.contains("Truncated, retrying in TCP mode") && many.contains("ANSWER: 40"), "\(many)")
        #expect(try c.dig(["+tcp", "many.example.org", "A"], from: alice.v4).contains("ANSWER: 40"))

        // 60 records do not fit 512 bytes: TC, and dig retries over TCP by itself.
        let big = try c.dig(["+noedns", "big.\(zone)", "A"], from: alice.v4)
        #expect(big.contains("Truncated, retrying in TCP mode"))
        #expect(big.contains("ANSWER: 60"))
        #expect(try c.short("big.\(zone)", from: alice.v4).count == 60)

        // A removed peer's name is gone at once; an ephemeral one's within a second of its expiry.
        try c.api("DELETE", "/v1/peers/\(bob.id)")
        #expect(try c.status("bob.\(zone)", from: alice.v4) == "NXDOMAIN")
        let job = try peer("job-1234", "ci", ttl: 3)
        let jobCreated = Date()
        #expect(try c.short("job-1234.ci.\(zone)", from: alice.v4) == [job.v4])
        #expect(try c.short("job-1234.\(zone)", from: job.v4) == [job.v4])
        Thread.sleep(until: jobCreated.addingTimeInterval(3.0))
        let gone = try waitUntil(timeout: 1.0) { try c.status("job-1234.ci.\(zone)", from: alice.v4) == "NXDOMAIN" }
        #expect(gone, "the expired peer's name still resolves")

        // Every record change is in the audit log.
        let audit = try c.api("GET", "/v1/audit?limit=1000")
        let actions = (audit["items"] as? [[String: Any]] ?? []).compactMap { $0["action"] as? String }
        #expect(actions.filter { $0 == "dns.create" }.count == 63)
    }
}

import Foundation
import FerryCore
import Testing
import WireGuard
@testable import FerryAgent

@Suite("Doctor: reading ping, ip and wg output")
struct DoctorSystemParsingTests {
    func outcome(_ status: Int32, _ out: String, _ err: String = "") -> PingOutcome {
        SystemProbes.pingOutcome(status: status, output: out + err)
    }

    @Test func pingOutcomes() {
        #expect(outcome(0, "1 packets transmitted, 1 received") == .reply)
        #expect(outcome(1, "1 packets transmitted, 0 received, 100% packet loss") == .noReply)
        #expect(outcome(1, "", "ping: local error: message too long, mtu=1420\n") == .tooLarge(mtu: 1420))
        #expect(outcome(1, "From 10.10.1.5 icmp_seq=1 Frag needed and DF set (mtu = 1400)\n", "ping: sendmsg: Message too long") == .tooLarge(mtu: nil))
        #expect(outcome(2, "", "ping: unknown iface: wg9\n") == .failed("ping: unknown iface: wg9"))
    }

    @Test func routes() throws {
        #expect(try SystemProbes.parseRoute(#"[{"dst":"10.10.0.1","dev":"wg0","prefsrc":"10.10.1.5","flags":[],"uid":0,"cache":[]}]"#)
                == RouteInfo(device: "wg0"))
        #expect(try SystemProbes.parseRoute(#"[{"dst":"1.1.1.1","gateway":"192.0.2.1","dev":"eth0","prefsrc":"192.0.2.2","flags":[]}]"#)
                == RouteInfo(device: "eth0", via: "192.0.2.1"))
        #expect(try SystemProbes.parseRoute(#"[{"type":"blackhole","dst":"10.77.0.1","flags":[]}]"#) == RouteInfo(device: nil, type: "blackhole"))
        #expect(try SystemProbes.parseRoute("[]") == RouteInfo(device: nil, type: "no route"))
        #expect(throws: (any Error).self) { try SystemProbes.parseRoute("RTNETLINK answers") }
    }

    @Test func links() throws {
        let json = #"""
        [{"ifindex":5,"ifname":"wg0","flags":["POINTOPOINT","NOARP","UP","LOWER_UP"],"mtu":1420,"addr_info":[
          {"family":"inet","local":"10.10.1.5","prefixlen":32,"scope":"global"},
          {"family":"inet6","local":"fd10::105","prefixlen":128,"scope":"global"}]},
         {"ifindex":1,"ifname":"lo","mtu":65536}]
        """#
        let links = try SystemProbes.parseLinks(json)
        #expect(links.map(\.ifname) == ["wg0", "lo"])
        #expect(links[0].mtu == 1420)
        #expect(links[0].prefixes == ["10.10.1.5/32", "fd10::105/128"].prefixes)
        #expect(links[1].prefixes.isEmpty)
    }

    @Test func wgShowDump() throws {
        let priv = PrivateKey.generate(), peer = PrivateKey.generate().publicKey
        let text = "\(priv.base64)\t\(priv.publicKey.base64)\t40000\toff\n"
            + "\(peer.base64)\t(none)\t192.168.77.1:51820\t10.10.0.1/32,172.20.0.0/24\t1700000000\t2000\t1000\t25\n"
            + "garbage line\n"
        let s = try #require(WGDump.status(text))
        #expect(s.privateKey == priv)
        #expect(s.listenPort == 40000)
        #expect(s.fwmark == 0)
        #expect(s.peers.count == 1)
        #expect(s.peers[0].publicKey == peer)
        #expect(s.peers[0].endpoint == Endpoint("192.168.77.1:51820"))
        #expect(s.peers[0].allowedIPs == ["10.10.0.1/32", "172.20.0.0/24"].prefixes)
        #expect(s.peers[0].lastHandshakeTimeSec == 1_700_000_000)
        #expect(s.peers[0].rxBytes == 2000)
        #expect(s.peers[0].persistentKeepaliveInterval == 25)
        let off = try #require(WGDump.status("\(priv.base64)\t\(priv.publicKey.base64)\t51820\t0x1234\n\(peer.base64)\t(none)\t(none)\t(none)\t0\t0\t0\toff\n"))
        #expect(off.fwmark == 0x1234)
        #expect(WGDump.status("") == nil)
        #expect(off.peers[0].endpoint == nil && off.peers[0].allowedIPs.isEmpty && off.peers[0].persistentKeepaliveInterval == 0)
    }

    /// A UDP socket bound to a free port on loopback.
    func loopbackSocket() -> (fd: Int32, port: UInt16) {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        _ = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        return (fd, UInt16(bigEndian: a.sin_port))
    }

    @Test func aClosedLocalPortIsRefused() {
        // Nothing listens once the socket is closed: the kernel answers port unreachable.
        let (fd, port) = loopbackSocket()
        close(fd)
        #expect(SystemUDPPortProbe.probeNow(Endpoint(address: IPAddress("127.0.0.1")!, port: port), timeout: .seconds(1)) == .refused)
    }

    @Test func aListeningPortIsSilent() {
        let (fd, port) = loopbackSocket()
        defer { close(fd) }
        #expect(SystemUDPPortProbe.probeNow(Endpoint(address: IPAddress("127.0.0.1")!, port: port), timeout: .milliseconds(300)) == .silent)
    }
}

import Foundation
import FerryTestSupport
import Testing
@testable import WireGuard

/// The Ferry core against a real wireguard-go from Debian's packages (TESTING.md layer 5).
/// wireguard-go runs in a namespace of the test's own; the core talks to it over a plain UDP
/// socket opened inside that namespace, on loopback.
@Suite(.serialized, .enabled(if: RootEnvironment.available, "SKIPPED (needs root, /dev/net/tun and wireguard-go)"))
final class WireguardGoInteropTests {
    let ns: NetworkNamespace
    let ifname: String
    let wgKey = PrivateKey.generate()
    let ferryKey = PrivateKey.generate()
    let ferryInner = IPv4Address(10, 77, 0, 1)
    let wgInner = IPv4Address(10, 77, 0, 2)
    let psk = PresharedKey.generate()
    var daemon: BackgroundProcess?

    init() throws {
        ns = try NetworkNamespace(prefix: "fwgi")
        ifname = uniqueName("wgi")
    }

    deinit { ns.close() }

    /// Starts wireguard-go with `wg` configuration; `ferryPort` set means it knows our endpoint.
    func startWireguardGo(ferryPort: UInt16?) throws {
        daemon = try ns.spawn(["wireguard-go", "-f", ifname], environment: ["LOG_LEVEL": "verbose"])
        let sock = "/var/run/wireguard/\(ifname).sock"
        #expect(waitUntil(timeout: 5) { FileManager.default.fileExists(atPath: sock) }, "wireguard-go did not start: \(daemon?.output ?? "")")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent(uniqueName("k"))
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let keyFile = dir.appendingPathComponent("key").path, pskFile = dir.appendingPathComponent("psk").path
        FileManager.default.createFile(atPath: keyFile, contents: Data(wgKey.base64.utf8), attributes: [.posixPermissions: 0o600])
        FileManager.default.createFile(atPath: pskFile, contents: Data(psk.base64.utf8), attributes: [.posixPermissions: 0o600])
        var args = ["wg", "set", ifname, "private-key", keyFile, "listen-port", "51820",
                    "peer", ferryKey.publicKey.base64, "preshared-key", pskFile, "allowed-ips", "\(ferryInner)/32"]
        if let ferryPort { args += ["endpoint", "127.0.0.1:\(ferryPort)"] }
        try ns.exec(args)
        try ns.exec(["ip", "addr", "add", "\(wgInner)/24", "dev", ifname])
        try ns.exec(["ip", "link", "set", ifname, "up"])
    }

    /// The Ferry side: a device and a socket in the namespace.
    final class FerrySide {
        var device: Device
        let socket: TestUDPSocket
        let peer: PeerID

        init(device: consuming Device, socket: TestUDPSocket, peer: PeerID) {
            self.device = device
            self.socket = socket
            self.peer = peer
        }

        /// Pumps datagrams between the socket and the device until `done` says so or time
        /// runs out; every decrypted packet goes to `onPacket`, which may answer with packets.
        func pump(timeout: TimeInterval, onPacket: ([UInt8]) -> [[UInt8]], done: () -> Bool) {
            var buffer = [UInt8](repeating: 0, count: 2048)
            let socket = self.socket
            let send: SendDatagram = { bytes, to in socket.send(bytes, to: to) }
            let deadline = Date().addingTimeInterval(timeout)
            while Date() < deadline, !done() {
                device.updateTimers(now: RealClock.now(), send: send)
                var replies: [[UInt8]] = []
                buffer.withUnsafeMutableBytes { buf in
                    guard let (n, from) = socket.receive(into: buf) else { return }
                    let datagram = UnsafeMutableRawBufferPointer(rebasing: buf[0..<n])
                    if case .packet(_, let range) = device.receive(datagram, from: from, now: RealClock.now(), send: send) {
                        replies = onPacket(Array(buf[range]))
                    }
                }
                for r in replies { sendPacket(r) }
            }
        }

        func sendPacket(_ packet: [UInt8]) {
            var buffer = [UInt8](repeating: 0, count: 2048)
            let socket = self.socket
            buffer.withUnsafeMutableBytes { buf in
                packet.withUnsafeBytes { buf.slice(TransportHeader.length, packet.count).copyMemory(from: $0) }
                let send: SendDatagram = { bytes, to in socket.send(bytes, to: to) }
                if case .transmit(let to, let n) = device.send(packetIn: buf, length: packet.count, now: RealClock.now(), send: send) {
                    socket.send(UnsafeRawBufferPointer(buf.slice(0, n)), to: to)
                }
            }
        }
    }

    func makeFerry() throws -> FerrySide {
        let socket = try ns.withEntered { try TestUDPSocket() }
        var device = Device(privateKey: ferryKey, rng: SystemRandomNumberGenerator())
        device.wallClockOffset = RealClock.wallClockOffset()
        guard let peer = device.addPeer(wgKey.publicKey), let prefix = IPPrefix("10.77.0.0/24") else {
            throw CommandFailure(command: ["addPeer"], status: 1, output: "")
        }
        device.addAllowedIP(prefix, for: peer)
        device.setPresharedKey(psk, for: peer)
        device.setEndpoint(Endpoint(address: .v4(IPv4Address(127, 0, 0, 1)), port: 51820), for: peer)
        return FerrySide(device: device, socket: socket, peer: peer)
    }

    /// `wg show IF dump` peer line: (latest handshake, rx, tx).
    func wgShow() throws -> (handshake: Int, rx: UInt64, tx: UInt64) {
        let dump = try ns.exec(["wg", "show", ifname, "dump"])
        let peerLine = try #require(dump.split(separator: "\n").dropFirst().first).split(separator: "\t")
        return (Int(peerLine[4]) ?? 0, UInt64(peerLine[5]) ?? 0, UInt64(peerLine[6]) ?? 0)
    }

    @Test func ferryInitiatesHandshakeAndPingIsAnswered() throws {
        try startWireguardGo(ferryPort: nil)
        let ferry = try makeFerry()
        let payload = Array("ferry-interop".utf8)
        ferry.sendPacket(ICMPEcho.packet(type: 8, from: ferryInner, to: wgInner, id: 0x4242, sequence: 1, payload: payload))
        var reply: (type: UInt8, id: UInt16, sequence: UInt16, src: IPv4Address, dst: IPv4Address, payload: [UInt8])?
        ferry.pump(timeout: 10, onPacket: { p in
            if let icmp = ICMPEcho.parse(p), icmp.type == 0 { reply = icmp }
            return []
        }, done: { reply != nil })
        let r = try #require(reply, "no echo reply through the tunnel; wireguard-go said: \(daemon?.output ?? "")")
        #expect(r.id == 0x4242 && r.sequence == 1 && r.payload == payload && r.src == wgInner && r.dst == ferryInner)

        let show = try wgShow()
        #expect(show.handshake > 0)
        let status = ferry.device.status(of: ferry.peer, now: RealClock.now())
        let ours = try #require(status)
        // wg counts the bytes of every authenticated message, as we do.
        #expect(show.rx == ours.txBytes)
        #expect(show.tx == ours.rxBytes)
    }

    @Test func wireguardGoInitiatesAndItsPingIsAnswered() throws {
        let ferry = try makeFerry()
        try startWireguardGo(ferryPort: ferry.socket.port)
        let ping = try ns.spawn(["ping", "-c", "3", "-i", "0.2", "-W", "2", "-w", "8", ferryInner.description])
        var answered = 0
        ferry.pump(timeout: 10, onPacket: { p in
            guard let icmp = ICMPEcho.parse(p), icmp.type == 8, icmp.dst == ferryInner else { return [] }
            answered += 1
            return [ICMPEcho.packet(type: 0, from: ferryInner, to: icmp.src, id: icmp.id, sequence: icmp.sequence, payload: icmp.payload)]
        }, done: { !ping.isRunning })
        ping.process.waitUntilExit()
        #expect(answered >= 3)
        #expect(ping.process.terminationStatus == 0, "ping through wireguard-go to Ferry failed: \(ping.output)")
        let show = try wgShow()
        #expect(show.handshake > 0 && show.rx > 0 && show.tx > 0)
    }
}

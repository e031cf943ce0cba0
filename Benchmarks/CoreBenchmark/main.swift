// Transport and handshake throughput of the Ferry core on one core, beside a bare
// swift-crypto ChaChaPoly loop measured in the same run, so the ratio shows what the core
// adds. Build in release: `swift run -c release core-benchmark [seconds]`.
import Crypto
import Foundation
import WireGuard

let packetSize = 1420

/// Runs `body` repeatedly for `seconds`; `body` returns how many operations it did.
func measure(seconds: Double, _ body: () -> Int) -> Double {
    var operations = 0
    let clock = ContinuousClock()
    let start = clock.now
    while start.duration(to: clock.now) < .seconds(seconds) { operations += body() }
    let elapsed = start.duration(to: clock.now)
    return Double(operations) / (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
}

/// Like `measure`, but only the time spent in `body` counts: `prepare` runs untimed before
/// each round (the receive path needs freshly sealed messages: each counter opens once).
func measureRounds(seconds: Double, prepare: () -> Void, _ body: () -> Int) -> Double {
    var operations = 0
    var timed = Duration.zero
    let clock = ContinuousClock()
    while timed < .seconds(seconds) {
        prepare()
        let start = clock.now
        operations += body()
        timed += start.duration(to: clock.now)
    }
    return Double(operations) / (Double(timed.components.seconds) + Double(timed.components.attoseconds) / 1e18)
}

func report(_ label: String, _ perSecond: Double, bytes: Int? = nil) {
    var line = label.padding(toLength: 46, withPad: " ", startingAt: 0) + String(format: "%12.0f/s", perSecond)
    if let bytes { line += String(format: "  %7.2f Gbit/s", perSecond * Double(bytes) * 8 / 1e9) }
    print(line)
}

/// Two devices with a session, driven through the calls the I/O layer makes.
final class Pair {
    let keyA = PrivateKey.generate(), keyB = PrivateKey.generate()
    var a: Device
    var b: Device
    let peerOfA: PeerID
    let epA = Endpoint(address: .v4(IPv4Address(192, 0, 2, 1)), port: 1)
    let epB = Endpoint(address: .v4(IPv4Address(192, 0, 2, 2)), port: 2)
    var now = Instant(nanoseconds: 1_000_000_000)
    var wire: [[UInt8]] = []
    let template: [UInt8]
    var packet: [UInt8]

    init() {
        a = Device(privateKey: keyA, rng: SystemRandomNumberGenerator())
        b = Device(privateKey: keyB, rng: SystemRandomNumberGenerator())
        peerOfA = a.addPeer(keyB.publicKey)!
        let peerOfB = b.addPeer(keyA.publicKey)!
        a.addAllowedIP(IPPrefix("0.0.0.0/0")!, for: peerOfA)
        b.addAllowedIP(IPPrefix("10.0.0.1/32")!, for: peerOfB)
        a.setEndpoint(epB, for: peerOfA)
        b.setEndpoint(epA, for: peerOfB)
        var p = [UInt8](repeating: 0xab, count: TransportHeader.length + packetSize + 32)
        p[16] = 0x45
        p[18] = UInt8(packetSize >> 8); p[19] = UInt8(packetSize & 0xff)
        p.replaceSubrange(28..<32, with: [10, 0, 0, 1])
        p.replaceSubrange(32..<36, with: [10, 0, 0, 2])
        template = p
        packet = p
    }

    /// Sends one packet from a and carries every resulting datagram between the two until
    /// quiet. Returns true when a handshake response went by.
    @discardableResult
    func exchange() -> Bool {
        packet = template
        wire.removeAll(keepingCapacity: true)
        let outcome = packet.withUnsafeMutableBytes { buf in
            a.send(packetIn: buf, length: packetSize, now: now, send: { bytes, _ in self.wire.append(Array(bytes)) })
        }
        if case .transmit(_, let n) = outcome { wire.append(Array(packet[0..<n])) }
        var sawResponse = false
        while !wire.isEmpty {
            var d = wire.removeFirst()
            let type = d.first ?? 0
            if type == 2 { sawResponse = true }
            _ = d.withUnsafeMutableBytes { buf in
                type == 2 || type == 3
                    ? a.receive(buf, from: epB, now: now, send: { bytes, _ in self.wire.append(Array(bytes)) })
                    : b.receive(buf, from: epA, now: now, send: { bytes, _ in self.wire.append(Array(bytes)) })
            }
        }
        return sawResponse
    }

    /// Seals `count` packets in place; returns how many were sealed.
    func seal(_ count: Int, keep: ((UnsafeRawBufferPointer) -> Void)? = nil) -> Int {
        var sealed = 0
        packet.withUnsafeMutableBytes { buf in
            for _ in 0..<count {
                // Sealing overwrote the IP header: put it back so the packet routes.
                template.withUnsafeBytes { t in
                    UnsafeMutableRawBufferPointer(rebasing: buf[16..<36]).copyMemory(from: UnsafeRawBufferPointer(rebasing: t[16..<36]))
                }
                if case .transmit(_, let n) = a.send(packetIn: buf, length: packetSize, now: now, send: { _, _ in }) {
                    sealed += 1
                    keep?(UnsafeRawBufferPointer(rebasing: buf[0..<n]))
                }
            }
        }
        return sealed
    }
}

let seconds = Double(CommandLine.arguments.dropFirst().first ?? "") ?? 2.0
print("Ferry core benchmark: \(packetSize)-byte packets, one core, \(seconds) s per measurement")

// 1. Bare swift-crypto ChaChaPoly through its public API (a Data per call).
let key = SymmetricKey(size: .bits256)
let plaintext = Data(repeating: 0xab, count: packetSize)
func nonce(_ c: UInt64) -> ChaChaPoly.Nonce? {
    var n = Data(repeating: 0, count: 12)
    withUnsafeBytes(of: c.littleEndian) { n.replaceSubrange(4..<12, with: $0) }
    return try? ChaChaPoly.Nonce(data: n)
}
var counter: UInt64 = 0
let bareSeal = measure(seconds: seconds) {
    counter += 1
    guard let n = nonce(counter), (try? ChaChaPoly.seal(plaintext, using: key, nonce: n)) != nil else { return 0 }
    return 1
}
guard let n1 = nonce(1), let sealedBox = try? ChaChaPoly.seal(plaintext, using: key, nonce: n1) else { fatalError("seal") }
let bareOpen = measure(seconds: seconds) { (try? ChaChaPoly.open(sealedBox, using: key)) != nil ? 1 : 0 }

// 2. The core: route, counter, padding, seal in place, timers; and open, replay, checks.
let pair = Pair()
pair.exchange()
let coreSeal = measure(seconds: seconds) { pair.seal(64) }
// 4096 sealed messages in one flat buffer, opened in place in order.
let stride = 1472
var messages = [UInt8](repeating: 0, count: 4096 * stride)
var lengths = [Int](repeating: 0, count: 4096)
let coreOpen = measureRounds(seconds: seconds, prepare: {
    var i = 0
    _ = pair.seal(4096) { m in
        messages.withUnsafeMutableBytes { UnsafeMutableRawBufferPointer(rebasing: $0[(i * stride)..<(i * stride + m.count)]).copyMemory(from: m) }
        lengths[i] = m.count
        i += 1
    }
}) {
    var opened = 0
    messages.withUnsafeMutableBytes { all in
        for i in 0..<4096 {
            let d = UnsafeMutableRawBufferPointer(rebasing: all[(i * stride)..<(i * stride + lengths[i])])
            if case .packet = pair.b.receive(d, from: pair.epA, now: pair.now, send: { _, _ in }) { opened += 1 }
        }
    }
    return opened
}

report("swift-crypto ChaChaPoly.seal (Data API)", bareSeal, bytes: packetSize)
report("Ferry core send (route, seal, timers)", coreSeal, bytes: packetSize)
report("swift-crypto ChaChaPoly.open (Data API)", bareOpen, bytes: packetSize)
report("Ferry core receive (open, replay, checks)", coreOpen, bytes: packetSize)
print(String(format: "ratio core/bare: seal %.2fx, open %.2fx", coreSeal / bareSeal, coreOpen / bareOpen))

// 3. Handshakes: initiation created, consumed, answered and the answer consumed, both sides on
// this one core. Each round forgets the session (new private key = same key set again).
let hs = Pair()
let handshakes = measure(seconds: seconds) {
    hs.now = hs.now + .seconds(6)
    let done = hs.exchange() ? 1 : 0
    hs.a.setPrivateKey(nil)
    hs.a.setPrivateKey(hs.keyA)
    return done
}
report("full handshakes (both sides, one core)", handshakes)

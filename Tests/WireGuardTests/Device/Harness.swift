import FerryTestSupport
@testable import WireGuard

/// Builds a minimal IPv4 packet (no options, checksum left zero: the core does not check it)
/// whose payload starts with a 64-bit sequence number.
func ipv4Packet(from src: IPv4Address, to dst: IPv4Address, sequence: UInt64, payloadLength: Int = 64) -> [UInt8] {
    let total = 20 + max(8, payloadLength)
    var p = [UInt8](repeating: 0, count: total)
    p[0] = 0x45
    p[2] = UInt8(total >> 8)
    p[3] = UInt8(total & 0xff)
    p[8] = 64
    p[9] = 17
    p.replaceSubrange(12..<16, with: src.bytes)
    p.replaceSubrange(16..<20, with: dst.bytes)
    withUnsafeBytes(of: sequence.bigEndian) { p.replaceSubrange(20..<28, with: $0) }
    return p
}

/// The sequence number `ipv4Packet` put in a delivered packet.
func sequence(of packet: [UInt8]) -> UInt64? {
    guard packet.count >= 28 else { return nil }
    return packet[20..<28].reduce(0) { $0 << 8 | UInt64($1) }
}

/// One side of a back-to-back test: a device, its outer endpoint and inner address, and the
/// packets it delivered to its (virtual) TUN.
final class Node {
    var device: Device
    let endpoint: Endpoint
    let innerAddress: IPv4Address
    let privateKey: PrivateKey
    var delivered: [[UInt8]] = []
    var outcomes: [ReceiveOutcome] = []

    init(name: UInt8, seed: UInt64, privateKey: PrivateKey? = nil) {
        var rng = SeededGenerator(seed: seed)
        let key = privateKey ?? PrivateKey.generate(using: &rng)
        self.privateKey = key
        device = Device(privateKey: key, rng: rng)
        endpoint = Endpoint(address: .v4(IPv4Address(192, 0, 2, name)), port: 51820)
        innerAddress = IPv4Address(10, 0, 0, name)
    }

    var publicKey: PublicKey { privateKey.publicKey }
}

/// A datagram on the virtual wire.
struct WireDatagram {
    var bytes: [UInt8]
    var from: Endpoint
    var to: Endpoint
}

/// Two or more devices on a virtual network and a virtual clock. The network can lose,
/// duplicate and reorder datagrams, deterministically from a seed. Nothing sleeps.
final class VirtualNetwork {
    var now = Instant(nanoseconds: 1_000_000_000)
    var nodes: [Node] = []
    var inFlight: [WireDatagram] = []
    /// Every datagram handed to the wire, in order (for inspection by tests).
    var sent: [WireDatagram] = []
    var lossRate = 0.0
    var duplicateRate = 0.0
    var reorder = false
    /// When set, datagrams for which it returns false vanish.
    var filter: ((WireDatagram) -> Bool)?
    var rng = SeededGenerator(seed: 42)
    private var buffer = [UInt8](repeating: 0, count: 2048)

    init(_ nodes: Node...) {
        self.nodes = nodes
        for n in nodes { n.device.wallClockOffset = 1_700_000_000_000_000_000 }
    }

    /// Makes `a` and `b` peers of each other with their inner /32 and each other's endpoint.
    func connect(_ a: Node, _ b: Node, psk: PresharedKey? = nil, endpoints: Bool = true) {
        for (x, y) in [(a, b), (b, a)] {
            guard let id = x.device.addPeer(y.publicKey) else { fatalError("addPeer failed") }
            x.device.addAllowedIP(IPPrefix(.v4(y.innerAddress), 32)!, for: id)
            if endpoints { x.device.setEndpoint(y.endpoint, for: id) }
            x.device.setPresharedKey(psk, for: id)
        }
    }

    func node(at endpoint: Endpoint) -> Node? { nodes.first { $0.endpoint == endpoint } }

    func wire(from: Endpoint) -> SendDatagram {
        { [unowned self] bytes, to in
            let d = WireDatagram(bytes: Array(bytes), from: from, to: to)
            self.sent.append(d)
            if let filter = self.filter, !filter(d) { return }
            if Double.random(in: 0..<1, using: &self.rng) < self.lossRate { return }
            self.inFlight.append(d)
            if Double.random(in: 0..<1, using: &self.rng) < self.duplicateRate { self.inFlight.append(d) }
        }
    }

    /// Sends an inner packet from `node` through its device.
    @discardableResult
    func send(_ packet: [UInt8], from node: Node) -> SendOutcome {
        buffer.withUnsafeMutableBytes { buf in
            packet.withUnsafeBytes { buf.slice(TransportHeader.length, packet.count).copyMemory(from: $0) }
            let send = wire(from: node.endpoint)
            let outcome = node.device.send(packetIn: buf, length: packet.count, now: now, send: send)
            if case .transmit(let to, let n) = outcome { send(UnsafeRawBufferPointer(buf.slice(0, n)), to) }
            return outcome
        }
    }

    func sendData(from a: Node, to b: Node, sequence: UInt64) -> SendOutcome {
        send(ipv4Packet(from: a.innerAddress, to: b.innerAddress, sequence: sequence), from: a)
    }

    /// Delivers one datagram to its destination device.
    func deliver(_ d: WireDatagram) {
        guard let node = node(at: d.to) else { return }
        var bytes = d.bytes
        let outcome = bytes.withUnsafeMutableBytes { buf in
            node.device.receive(buf, from: d.from, now: now, send: wire(from: node.endpoint))
        }
        node.outcomes.append(outcome)
        if case .packet(_, let range) = outcome { node.delivered.append(Array(bytes[range])) }
    }

    /// Delivers everything in flight, including what the deliveries cause, in waves.
    func flush() {
        var rounds = 0
        while !inFlight.isEmpty, rounds < 1000 {
            var batch = inFlight
            inFlight = []
            if reorder { batch.shuffle(using: &rng) }
            for d in batch { deliver(d) }
            rounds += 1
        }
    }

    /// Advances the clock in `step`s, running every device's timers and the network.
    func advance(by interval: Interval, step: Interval = .milliseconds(100)) {
        let end = now + interval
        while now < end {
            now = min(now + step, end)
            for n in nodes { n.device.updateTimers(now: now, send: wire(from: n.endpoint)) }
            flush()
        }
    }

    /// Datagrams of `type` sent from `node` since index `start` of `sent`.
    func sentMessages(_ type: MessageType, from node: Node, since start: Int = 0) -> [WireDatagram] {
        sent[start...].filter { $0.from == node.endpoint && $0.bytes.first == UInt8(type.rawValue) }
    }
}

extension Node {
    func peerID(_ other: Node) -> PeerID? { device.peerID(for: other.publicKey) }
    func status(_ other: Node, _ net: VirtualNetwork) -> PeerStatus? {
        peerID(other).flatMap { device.status(of: $0, now: net.now) }
    }
    func hasSession(with other: Node, _ net: VirtualNetwork) -> Bool { status(other, net)?.hasSession ?? false }
}

extension Node {
    /// `device.addPeer`, callable inside `#require` (which cannot capture a non-copyable value).
    func addPeer(_ key: PublicKey) -> PeerID? { device.addPeer(key) }
}

extension VirtualNetwork {
    /// Two connected nodes, 192.0.2.1 and 192.0.2.2, seeded from `seed`.
    static func pair(seed: UInt64 = 1, psk: PresharedKey? = nil) -> (VirtualNetwork, Node, Node) {
        let a = Node(name: 1, seed: seed), b = Node(name: 2, seed: seed &+ 1)
        let net = VirtualNetwork(a, b)
        net.connect(a, b, psk: psk)
        return (net, a, b)
    }
}

extension Node {
    /// The core's peer object for `other` (white-box tests).
    func peerObject(_ other: Node) -> Peer? { peerID(other).flatMap { device.peer($0) } }
}

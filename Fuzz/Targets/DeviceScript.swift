import WireGuard

/// `Device.receive` and `Device.send` driven by a script: two devices with fixed keys that
/// are each other's peer, a virtual wire and clock, and the fuzzer's bytes choosing what
/// happens: inner packets sent either way (any bytes), datagrams delivered as they are,
/// with bytes changed, cut or extended, arbitrary datagrams from anywhere, time passing,
/// load (cookie replies), the UAPI changing a peer. Real handshakes and transport messages
/// flow, so the mutations reach past mac1 into the handshake, cookie and transport code.
func fuzzDevice(_ data: UnsafeRawBufferPointer) {
    var input = FuzzInput(data)
    let world = DeviceWorld()
    var steps = 0
    while !input.isAtEnd, steps < 64 {
        steps += 1
        let side = Int(input.byte() & 1)
        switch input.byte() % 9 {
        case 0:  // an ordinary inner packet from one side to the other
            world.send(from: side, packet: DeviceWorld.packet(from: side, length: 20 + Int(input.byte())))
        case 1:  // arbitrary bytes from the TUN
            world.send(from: side, packet: input.take(Int(input.byte()) + 1))
        case 2:  // the next datagram on the wire, delivered as it is
            world.deliverNext(mutate: { _ in })
        case 3:  // … with one to three bytes changed
            let changes = (0..<Int(input.byte() % 3) + 1).map { _ in (input.uint16(), input.byte()) }
            world.deliverNext { bytes in
                for (at, value) in changes where !bytes.isEmpty { bytes[at % bytes.count] ^= value | 1 }
            }
        case 4:  // … cut, or with bytes added
            let length = input.uint16()
            let extra = input.take(Int(input.byte() % 32))
            world.deliverNext { bytes in
                if length < bytes.count { bytes.removeLast(bytes.count - length) } else { bytes += extra }
            }
        case 5:  // an arbitrary datagram from a stranger's address or the peer's
            let bytes = input.take(Int(input.byte()) * 2 + 1)
            world.deliver(bytes, to: side, fromPeer: input.byte() & 1 == 0)
        case 6:  // time passes: timers run
            world.advance(milliseconds: Int(input.byte()) * 50)
        case 7:  // load: handshakes get cookie replies while it lasts
            world.setBacklog(side, input.byte() & 1 == 0 ? 0 : 10_000)
        default:  // the UAPI changes the peer (allowed IPs replaced, keepalive, endpoint)
            world.reconfigure(side, variant: input.byte())
        }
    }
}

/// Deterministic randomness: every run of an input does the same.
struct FuzzRandom: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

final class DeviceWorld {
    static let keys: [PrivateKey] = (0..<2).map { i in
        var rng = FuzzRandom(seed: 0xF022 + UInt64(i))
        return PrivateKey.generate(using: &rng)
    }
    static let endpoints = [Endpoint(address: .v4(IPv4Address(192, 0, 2, 1)), port: 51820),
                            Endpoint(address: .v4(IPv4Address(192, 0, 2, 2)), port: 51820)]
    static let stranger = Endpoint(address: .v4(IPv4Address(198, 51, 100, 7)), port: 40000)

    var a: Device
    var b: Device
    var wire: [(bytes: [UInt8], to: Int, from: Endpoint)] = []
    var now = Instant(nanoseconds: 1_000_000_000)
    private var buffer = [UInt8](repeating: 0, count: 2048)

    init() {
        a = Device(privateKey: DeviceWorld.keys[0], rng: FuzzRandom(seed: 7))
        b = Device(privateKey: DeviceWorld.keys[1], rng: FuzzRandom(seed: 8))
        for side in 0..<2 {
            device(side) { $0.wallClockOffset = 1_700_000_000_000_000_000 }
            reconfigure(side, variant: 0)
        }
    }

    /// The device of one side (Device is not copyable: no array of them).
    @discardableResult
    func device<R>(_ side: Int, _ body: (inout Device) -> R) -> R {
        side == 0 ? body(&a) : body(&b)
    }

    /// An IPv4 packet from one side's inner address to the other's.
    static func packet(from side: Int, length: Int) -> [UInt8] {
        var p = [UInt8](repeating: 0, count: length)
        p[0] = 0x45
        p[2] = UInt8(length >> 8)
        p[3] = UInt8(length & 0xff)
        p[8] = 64
        p[9] = 17
        p[12] = 10; p[15] = UInt8(side + 1)
        p[16] = 10; p[19] = UInt8(2 - side)
        return p
    }

    func sender(_ side: Int) -> SendDatagram {
        { [unowned self] bytes, to in
            guard let target = DeviceWorld.endpoints.firstIndex(of: to), wire.count < 256 else { return }
            wire.append((Array(bytes), target, DeviceWorld.endpoints[side]))
        }
    }

    func send(from side: Int, packet: [UInt8]) {
        guard packet.count + 64 <= buffer.count else { return }
        let send = sender(side)
        buffer.withUnsafeMutableBytes { buf in
            packet.withUnsafeBytes { buf.baseAddress!.advanced(by: TransportHeader.length).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
            let now = self.now
            let outcome = device(side) { $0.send(packetIn: buf, length: packet.count, now: now, send: send) }
            if case .transmit(let to, let n) = outcome {
                require(n <= buf.count, "transmit of \(n) bytes from a \(buf.count)-byte buffer")
                send(UnsafeRawBufferPointer(rebasing: buf[0..<n]), to)
            }
        }
    }

    func deliverNext(mutate: (inout [UInt8]) -> Void) {
        guard !wire.isEmpty else { return }
        var (bytes, to, from) = wire.removeFirst()
        mutate(&bytes)
        deliver(bytes, to: to, from: from)
    }

    func deliver(_ bytes: [UInt8], to side: Int, fromPeer: Bool) {
        deliver(bytes, to: side, from: fromPeer ? DeviceWorld.endpoints[1 - side] : DeviceWorld.stranger)
    }

    private func deliver(_ original: [UInt8], to side: Int, from: Endpoint) {
        var bytes = original
        let count = bytes.count
        let now = self.now, send = sender(side)
        let outcome = bytes.withUnsafeMutableBytes { buf in device(side) { $0.receive(buf, from: from, now: now, send: send) } }
        if case .packet(_, let range) = outcome {
            require(range.lowerBound >= 0 && range.upperBound <= count, "delivered range \(range) of \(count) bytes")
        }
    }

    func advance(milliseconds: Int) {
        now = now + Interval.milliseconds(Int64(milliseconds))
        let now = self.now
        for side in 0..<2 {
            let send = sender(side)
            device(side) { $0.updateTimers(now: now, send: send) }
        }
    }

    func setBacklog(_ side: Int, _ backlog: Int) { device(side) { $0.handshakeBacklog = backlog } }

    /// A UAPI `set` for the peer of `side`; variant 0 is the initial configuration.
    func reconfigure(_ side: Int, variant: UInt8) {
        let peer = DeviceWorld.keys[1 - side].publicKey.hex
        var text = "set=1\n"
        if variant == 0 { text += "private_key=\(DeviceWorld.keys[side].hex)\nlisten_port=51820\n" }
        text += "public_key=\(peer)\n"
        switch variant % 4 {
        case 0: text += "replace_allowed_ips=true\nallowed_ip=10.0.0.\(2 - side)/32\nendpoint=192.0.2.\(2 - side):51820\n"
        case 1: text += "persistent_keepalive_interval=\(variant % 3)\n"
        case 2: text += "replace_allowed_ips=true\nallowed_ip=0.0.0.0/0\nallowed_ip=::/0\n"
        default: text += "remove=true\n"
        }
        guard case .set(let request) = try? UAPI.parse(text + "\n") else {
            require(false, "the script's own UAPI text does not parse:\n\(text)")
            return
        }
        let now = self.now, send = sender(side)
        device(side) { _ = $0.apply(request, now: now, send: send) }
    }
}

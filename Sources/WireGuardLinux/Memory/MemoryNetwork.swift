import Glibc
import WireGuard

/// A virtual UDP network for tests: hosts get `MemoryBind`s with addresses, datagrams sent
/// to an endpoint land in the queue of whichever bind has it open, and vanish otherwise
/// (counted), as on a real network. Thread-safe. A `filter` can drop, count or inspect
/// datagrams in flight, to test loss.
public final class MemoryNetwork: @unchecked Sendable {
    public let queueLimit: Int
    private let lock = ConditionLock()
    private var listeners: [Endpoint: BlockingQueue<Datagram>] = [:]
    private var nextPort: UInt16 = 49152
    private var undeliverable = 0
    private var deliveredCount = 0
    private var datagramFilter: (@Sendable (Endpoint, Endpoint, [UInt8]) -> Bool)?

    public init(queueLimit: Int = 4096) {
        self.queueLimit = queueLimit
    }

    /// A bind for a host with these addresses (at most one of each family is used).
    public func bind(addresses: [IPAddress]) -> MemoryBind { MemoryBind(network: self, addresses: addresses) }

    /// Decides for each datagram (source, destination, bytes) whether it is delivered.
    public func setFilter(_ filter: (@Sendable (Endpoint, Endpoint, [UInt8]) -> Bool)?) {
        lock.withLock { datagramFilter = filter }
    }

    /// Datagrams that reached a queue, and those that found no listener or were filtered out.
    public var delivered: Int { lock.withLock { deliveredCount } }
    public var lost: Int { lock.withLock { undeliverable } }

    struct Datagram {
        var bytes: [UInt8]
        var source: Endpoint
        var destination: IPAddress
    }

    /// Registers a listener on every (address, port); port 0 picks a port free on all of
    /// them. Returns the port, or nil when taken.
    func listen(addresses: [IPAddress], port: UInt16, queues: [BlockingQueue<Datagram>]) -> UInt16? {
        lock.withLock { () -> UInt16? in
            func free(_ p: UInt16) -> Bool { addresses.allSatisfy { listeners[Endpoint(address: $0, port: p)] == nil } }
            var chosen = port
            if port == 0 {
                var tries = 0
                while !free(nextPort) || nextPort == 0 {
                    nextPort = nextPort == UInt16.max ? 49152 : nextPort + 1
                    tries += 1
                    if tries > 16384 { return nil }
                }
                chosen = nextPort
                nextPort = nextPort == UInt16.max ? 49152 : nextPort + 1
            } else if !free(port) {
                return nil
            }
            for (address, queue) in zip(addresses, queues) { listeners[Endpoint(address: address, port: chosen)] = queue }
            return chosen
        }
    }

    func unlisten(addresses: [IPAddress], port: UInt16) {
        lock.withLock { for a in addresses { listeners[Endpoint(address: a, port: port)] = nil } }
    }

    func deliver(_ bytes: [UInt8], from source: Endpoint, to destination: Endpoint) {
        let (queue, filter) = lock.withLock { (listeners[destination], datagramFilter) }
        let accepted = filter?(source, destination, bytes) ?? true
        let pushed = accepted && queue?.push(Datagram(bytes: bytes, source: source, destination: destination.address)) == true
        lock.withLock { if pushed { deliveredCount += 1 } else { undeliverable += 1 } }
    }
}

/// A host's UDP "sockets" on a `MemoryNetwork`.
public final class MemoryBind: UDPBind, @unchecked Sendable {
    private let network: MemoryNetwork
    private let lock = ConditionLock()
    private var addresses: [IPAddress]
    private var opening: (port: UInt16, queues: [BlockingQueue<MemoryNetwork.Datagram>])?
    private var currentMark: UInt32 = 0

    /// The last SO_MARK set.
    public var mark: UInt32 { lock.withLock { currentMark } }

    init(network: MemoryNetwork, addresses: [IPAddress]) {
        self.network = network
        self.addresses = MemoryBind.onePerFamily(addresses)
    }

    private static func onePerFamily(_ addresses: [IPAddress]) -> [IPAddress] {
        [addresses.first { $0.isIPv4 }, addresses.first { !$0.isIPv4 }].compactMap { $0 }
    }

    public func open(port: UInt16) throws(BindError) -> BindOpening {
        try lock.withLock { () throws(BindError) -> BindOpening in
            guard opening == nil else { throw .alreadyOpen }
            let queues = addresses.map { _ in BlockingQueue<MemoryNetwork.Datagram>(limit: network.queueLimit) }
            guard let bound = network.listen(addresses: addresses, port: port, queues: queues) else { throw .addressInUse(port) }
            opening = (bound, queues)
            let receivers: [any UDPReceiver] = zip(addresses, queues).map { MemoryReceiver(queue: $1, family: $0.isIPv4 ? .ipv4 : .ipv6) }
            return BindOpening(port: bound, receivers: receivers)
        }
    }

    public func close() {
        lock.withLock {
            guard let opening else { return }
            network.unlisten(addresses: addresses, port: opening.port)
            opening.queues.forEach { $0.close() }
            self.opening = nil
        }
    }

    public func setMark(_ mark: UInt32) throws(BindError) { lock.withLock { currentMark = mark } }

    @discardableResult
    public func send(_ batch: PacketBatch) throws(BindError) -> WriteOutcome {
        let (port, sources) = try lock.withLock { () throws(BindError) -> (UInt16, [IPAddress]) in
            guard let opening else { throw .closed }
            return (opening.port, addresses)
        }
        var outcome = WriteOutcome()
        for i in 0..<batch.count {
            let packet = batch[i]
            guard let destination = packet.endpoint else {
                outcome.recordFailure(EDESTADDRREQ)
                continue
            }
            guard let source = sources.first(where: { $0.isIPv4 == destination.address.isIPv4 }) else {
                outcome.recordFailure(EAFNOSUPPORT)
                continue
            }
            network.deliver(packet.array, from: Endpoint(address: source, port: port), to: destination)
            outcome.written += 1
        }
        return outcome
    }

    /// Moves the host to other addresses (roaming, or a NAT rebinding): later datagrams
    /// leave from them and are received on them. Keeps the port.
    public func move(to newAddresses: [IPAddress]) throws(BindError) {
        try lock.withLock { () throws(BindError) in
            let moved = MemoryBind.onePerFamily(newAddresses)
            guard let current = opening else {
                addresses = moved
                return
            }
            guard moved.map(\.isIPv4) == addresses.map(\.isIPv4) else {
                throw .system(SystemError("move to other address families", errno: EAFNOSUPPORT))
            }
            network.unlisten(addresses: addresses, port: current.port)
            guard network.listen(addresses: moved, port: current.port, queues: current.queues) != nil else {
                _ = network.listen(addresses: addresses, port: current.port, queues: current.queues)
                throw .addressInUse(current.port)
            }
            addresses = moved
        }
    }
}

final class MemoryReceiver: UDPReceiver, @unchecked Sendable {
    let queue: BlockingQueue<MemoryNetwork.Datagram>
    let family: AddressFamily

    init(queue: BlockingQueue<MemoryNetwork.Datagram>, family: AddressFamily) {
        self.queue = queue
        self.family = family
    }

    func receive(into batch: PacketBatch, headroom: Int) throws(BindError) -> Int {
        let room = batch.prepareForReading(headroom: headroom, tailroom: 0)
        let datagrams: [MemoryNetwork.Datagram]
        do { datagrams = try queue.pop(max: batch.count) } catch { throw .closed }
        for (i, datagram) in datagrams.enumerated() {
            let packet = batch[i]
            // A datagram larger than the room is reported empty, as LinuxUDPBind does.
            if datagram.bytes.count > room {
                packet.setRange(offset: headroom, count: 0)
            } else {
                datagram.bytes.withUnsafeBytes { _ = packet.assign($0, headroom: headroom) }
            }
            packet.endpoint = datagram.source
            packet.local = LocalAddress(address: datagram.destination, interfaceIndex: 1)
        }
        return datagrams.count
    }
}

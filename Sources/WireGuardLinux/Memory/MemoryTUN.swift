import Glibc

/// An in-memory TUN interface for tests: two queues of whole packets. The "host" side
/// (the test, or a simulated kernel) injects packets for the device to read and takes the
/// packets the device wrote. Thread-safe; reads block and wake on close or delete.
public final class MemoryTUN: TUNDevice, @unchecked Sendable {
    public let name: String
    public let interfaceIndex: Int32
    private let inbound: BlockingQueue<[UInt8]>
    private let outbound: BlockingQueue<[UInt8]>
    private let events = MemoryLinkEvents()
    private let lock = ConditionLock()
    private var currentMTU: Int
    private var state: BlockingQueue<[UInt8]>.Closure?

    public init(name: String = "mem0", interfaceIndex: Int32 = 1000, mtu: Int = 1420, queueLimit: Int = 4096) {
        self.name = name
        self.interfaceIndex = interfaceIndex
        currentMTU = mtu
        inbound = BlockingQueue(limit: queueLimit)
        outbound = BlockingQueue(limit: queueLimit)
    }

    // MARK: device side

    public func read(into batch: PacketBatch, headroom: Int, tailroom: Int) throws(TUNError) -> Int {
        let room = batch.prepareForReading(headroom: headroom, tailroom: tailroom)
        let packets: [[UInt8]]
        do {
            packets = try inbound.pop(max: batch.count)
        } catch {
            throw error == .gone ? .interfaceGone(name) : .closed
        }
        for (i, packet) in packets.enumerated() {
            // As LinuxTUN does, a packet longer than the room is reported empty.
            if packet.count > room {
                batch[i].setRange(offset: headroom, count: 0)
            } else {
                packet.withUnsafeBytes { _ = batch[i].assign($0, headroom: headroom) }
            }
        }
        return packets.count
    }

    @discardableResult
    public func write(_ batch: PacketBatch) throws(TUNError) -> WriteOutcome {
        if let state = lock.withLock({ state }) { throw state == .gone ? .interfaceGone(name) : .closed }
        var outcome = WriteOutcome()
        for i in 0..<batch.count {
            if outbound.push(batch[i].array) { outcome.written += 1 } else { outcome.recordFailure(ENOBUFS) }
        }
        return outcome
    }

    public func mtu() throws(TUNError) -> Int {
        try lock.withLock { () throws(TUNError) -> Int in
            if let state { throw state == .gone ? .interfaceGone(name) : .closed }
            return currentMTU
        }
    }

    public func close() { end(.closed) }

    /// Link events (MTU changes, up/down, deletion) made by the host side.
    public var linkEvents: any LinkEventSource { events }

    // MARK: host side

    /// A packet for the device to read, as if the kernel routed it into the interface.
    /// False when the queue is full (dropped) or the interface is closed.
    @discardableResult public func inject(_ packet: [UInt8]) -> Bool { inbound.push(packet) }

    /// The next packet the device wrote, waiting until the deadline (nil: no packet).
    public func takeWritten(until deadline: MonotonicTime?) -> [UInt8]? { outbound.pop(until: deadline) }

    /// Packets the device wrote that nobody took yet.
    public var writtenCount: Int { outbound.count }

    /// Changes the MTU, as `ip link set mtu` would.
    public func setMTU(_ mtu: Int) {
        let changed = lock.withLock { () -> Bool in
            defer { currentMTU = mtu }
            return currentMTU != mtu
        }
        if changed { events.post(.mtuChanged(mtu)) }
    }

    /// Reports the interface up or down.
    public func setRunning(_ running: Bool) { events.post(running ? .up : .down) }

    /// Deletes the interface, as `ip link del` would: reads and writes fail with
    /// `.interfaceGone` and the link events end with `.deleted`.
    public func delete() {
        end(.gone)
        events.post(.deleted)
    }

    private func end(_ reason: BlockingQueue<[UInt8]>.Closure) {
        lock.withLock { if state == nil { state = reason } }
        inbound.close(reason)
    }
}

/// Link events posted by a test through a `MemoryTUN`.
final class MemoryLinkEvents: LinkEventSource, @unchecked Sendable {
    private let queue = BlockingQueue<LinkEvent>(limit: 1024)

    func post(_ event: LinkEvent) {
        queue.push(event)
        if event == .deleted { queue.close(deliveringQueued: true) }
    }

    func next() -> LinkEvent? { (try? queue.pop(max: 1))?.first }

    func close() { queue.close() }
}

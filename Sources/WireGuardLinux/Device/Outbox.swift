import WireGuard

/// Datagrams waiting to be sent by one thread, in order: the core's own messages
/// (handshakes, keepalives, flushed staged packets) copied into pool buffers, and sealed
/// transport packets handed over in place. One `sendmmsg` per flush.
final class Outbox {
    private(set) var batch: PacketBatch
    /// Full batches waiting for the next flush: a batch that fills up while the core's lock
    /// is held (the timers, a UAPI change that releases many staged packets) is not sent
    /// there but kept, and the flush after the lock sends it. Reused afterwards.
    private var full: [PacketBatch] = []
    private var spare: [PacketBatch] = []
    private let bind: any UDPBind
    private let sticky: StickySources?
    private var marked: [Int] = []
    private var sources: [LocalAddress?] = []
    private(set) var dropped = 0

    init(pool: PacketBufferPool, bind: any UDPBind, capacity: Int, sticky: StickySources? = nil) {
        batch = PacketBatch(pool: pool, capacity: capacity)
        self.bind = bind
        self.sticky = sticky
    }

    /// Copies `bytes` into a fresh buffer for `endpoint` (the core's `SendDatagram`).
    func copy(_ bytes: UnsafeRawBufferPointer, to endpoint: Endpoint) {
        if batch.count == batch.capacity { spill() }
        guard let buffer = batch.pool.take() else {
            dropped += 1
            return
        }
        guard buffer.assign(bytes) else {
            batch.pool.release(buffer)
            dropped += 1
            return
        }
        buffer.endpoint = endpoint
        batch.append(buffer)
    }

    /// Queues a buffer that already holds a datagram (ownership moves here).
    func add(_ buffer: PacketBuffer) {
        if batch.count == batch.capacity { spill() }
        batch.append(buffer)
    }

    /// Sets the full batch aside for the flush (the pool bounds how many buffers that holds).
    private func spill() {
        full.append(batch)
        batch = spare.popLast() ?? PacketBatch(pool: batch.pool, capacity: batch.capacity)
    }

    /// Sends everything queued, in order (from each peer's sticky source address), and
    /// gives the buffers back. Call it after releasing the core's lock.
    func flush() {
        if !full.isEmpty {
            for b in full { send(b) }
            spare.append(contentsOf: full)
            full.removeAll(keepingCapacity: true)
        }
        send(batch)
    }

    private func send(_ batch: PacketBatch) {
        guard !batch.isEmpty else { return }
        if let sticky {
            sticky.apply(to: batch, marking: &marked)
            sources.removeAll(keepingCapacity: true)
            for i in marked { sources.append(batch[i].local) }
        }
        _ = try? bind.send(batch)
        if let sticky, !marked.isEmpty { sticky.forgetRefused(in: batch, marked: marked, sources: sources) }
        batch.releaseAll()
    }

    /// The core's `SendDatagram` for this outbox.
    var sender: SendDatagram {
        { [unowned self] bytes, endpoint in self.copy(bytes, to: endpoint) }
    }
}

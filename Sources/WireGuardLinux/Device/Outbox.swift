import WireGuard

/// Datagrams waiting to be sent by one thread, in order: the core's own messages
/// (handshakes, keepalives, flushed staged packets) copied into pool buffers, and sealed
/// transport packets handed over in place. One `sendmmsg` per flush.
final class Outbox {
    let batch: PacketBatch
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
        if batch.count == batch.capacity { flush() }
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
        if batch.count == batch.capacity { flush() }
        batch.append(buffer)
    }

    /// Sends everything queued (from each peer's sticky source address) and gives the
    /// buffers back.
    func flush() {
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

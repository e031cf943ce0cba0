import WireGuard

extension UserspaceDevice {
    /// TUN → UDP: read a batch of packets, route and number them under the lock, seal them in
    /// place (in parallel when the batch is large), finish under the lock, send the batch.
    func runOutbound() {
        let batch = PacketBatch(pool: pool, capacity: configuration.batchSize)
        let outbox = Outbox(pool: pool, bind: bind, capacity: configuration.batchSize * 2, sticky: sticky)
        var jobs: [(job: OutboundJob, index: Int)] = []
        jobs.reserveCapacity(configuration.batchSize)
        var loops = 0
        var loopsLoggedAt: Instant?
        let send = outbox.sender
        while !stopSignal.isStopped {
            guard batch.refill(wait: true) > 0 else { return }
            let n: Int
            do {
                n = try tun.read(into: batch, headroom: TransportHeader.length, tailroom: 32)
            } catch .closed {
                return
            } catch .interfaceGone {
                fail("Interface \(name) deleted")
                return
            } catch {
                log.error("TUN read failed: \(error)")
                fail("TUN read failed: \(error)")
                return
            }
            let now = self.now()
            jobs.removeAll(keepingCapacity: true)
            core.withLock { device in
                for i in 0..<n {
                    let packet = batch[i]
                    guard packet.count > 0, let window = packet.window(front: TransportHeader.length) else { continue }
                    switch device.prepareSend(packetIn: window, length: packet.count, now: now, send: send) {
                    case .job(let job): jobs.append((job, i))
                    case .done(.dropped(.routingLoop)): loops += 1
                    case .done: break
                    }
                }
            }
            if loops > 0, loopsLoggedAt.map({ now - $0 >= .seconds(1) }) ?? true {
                log.error("Avoiding routing loop: \(loops) of our own datagrams came back from the interface (the route to a peer's endpoint leads into it; set an fwmark and a rule)")
                loops = 0
                loopsLoggedAt = now
            }
            guard !jobs.isEmpty else {
                outbox.flush()
                continue
            }
            // Each job seals its own buffer: safe in parallel (the keys are thread-safe).
            jobs.withUnsafeBufferPointer { all in
                fanOut.run(all.count) { k in
                    if let window = batch[all[k].index].window(front: TransportHeader.length) { _ = all[k].job.seal(window) }
                }
            }
            core.withLock { device in
                for entry in jobs { device.completeSend(entry.job, now: now, send: send) }
            }
            for entry in jobs {
                let packet = batch.detach(at: entry.index)
                _ = packet.setRange(offset: packet.offset - TransportHeader.length, count: entry.job.messageLength)
                packet.endpoint = entry.job.endpoint
                outbox.add(packet)
            }
            outbox.flush()
        }
    }
}

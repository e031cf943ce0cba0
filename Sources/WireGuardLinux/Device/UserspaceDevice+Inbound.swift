import WireGuard

extension UserspaceDevice {
    /// UDP → TUN for one socket: receive a batch, match transport messages to their sessions
    /// under the lock (handshake messages go to the handshake queue), open them in place (in
    /// parallel when many), check replay, roaming and allowed IPs under the lock, write the
    /// batch of inner packets to the TUN.
    func runInbound(_ receiver: any UDPReceiver) {
        let batch = PacketBatch(pool: pool, capacity: configuration.batchSize)
        let toTUN = PacketBatch(pool: pool, capacity: configuration.batchSize)
        let outbox = Outbox(pool: pool, bind: bind, capacity: configuration.batchSize, sticky: sticky)
        let send = outbox.sender
        var jobs: [(job: InboundJob, index: Int)] = []
        var opened: [Int?] = []
        var handshakeIndices: [Int] = []
        var delivered: [(index: Int, range: Range<Int>)] = []
        var arrivals: [(endpoint: Endpoint, local: LocalAddress)] = []
        var rng = SystemRandomNumberGenerator()
        let admission = HandshakeAdmission()
        // Packets dropped by cryptokey routing (their source outside the sender's allowed
        // IPs), counted and logged once a second as the kernel counts them in rx_errors.
        var disallowed = 0
        var disallowedLoggedAt: Instant?
        jobs.reserveCapacity(configuration.batchSize)
        opened.reserveCapacity(configuration.batchSize)
        while !stopSignal.isStopped {
            guard batch.refill(wait: true) > 0 else { return }
            let n: Int
            do throws(BindError) {
                n = try receiver.receive(into: batch, headroom: 0)
            } catch .closed {
                return  // a rebind started new receivers, or the device stops
            } catch {
                // A passing failure (ENOMEM, say): this socket must go on receiving, or the
                // device would stay up deaf on it.
                log.error("UDP receive failed: \(error); retrying")
                _ = stopSignal.sleep(until: MonotonicTime(nanoseconds: MonotonicTime.now().nanoseconds + 10_000_000))
                continue
            }
            let now = self.now()
            jobs.removeAll(keepingCapacity: true)
            handshakeIndices.removeAll(keepingCapacity: true)
            delivered.removeAll(keepingCapacity: true)
            core.withLock { device in
                for i in 0..<n {
                    let datagram = batch[i]
                    guard datagram.count > 0, let source = datagram.endpoint else { continue }
                    let first = datagram.bytes[0]
                    if first == UInt8(MessageType.handshakeInitiation.rawValue) || first == UInt8(MessageType.handshakeResponse.rawValue) {
                        handshakeIndices.append(i)
                        continue
                    }
                    if case .job(let job) = device.prepareReceive(datagram.bytes, from: source, now: now, send: send) {
                        jobs.append((job, i))
                    }
                }
            }
            if !jobs.isEmpty {
                opened.removeAll(keepingCapacity: true)
                opened.append(contentsOf: repeatElement(nil, count: jobs.count))
                jobs.withUnsafeBufferPointer { all in
                    opened.withUnsafeMutableBufferPointer { results in
                        fanOut.run(all.count) { k in results[k] = all[k].job.open(batch[all[k].index].bytes) }
                    }
                }
                arrivals.removeAll(keepingCapacity: true)
                core.withLock { device in
                    for (k, entry) in jobs.enumerated() {
                        let datagram = batch[entry.index].bytes
                        let outcome = device.completeReceive(entry.job, plaintextLength: opened[k], datagram: datagram, now: now, send: send)
                        switch outcome {
                        case .packet(_, let range):
                            delivered.append((entry.index, range))
                        case .keepalive:
                            break
                        case .dropped(.disallowedSource):
                            disallowed += 1
                            continue
                        default:
                            continue
                        }
                        // Authenticated: replies to this endpoint leave from where it arrived.
                        if let local = batch[entry.index].local { arrivals.append((entry.job.source, local)) }
                    }
                }
                sticky.learn(arrivals)
                for entry in delivered {
                    let packet = batch.detach(at: entry.index)
                    _ = packet.setRange(offset: packet.offset + entry.range.lowerBound, count: entry.range.count)
                    toTUN.append(packet)
                }
                if !toTUN.isEmpty {
                    do {
                        try tun.write(toTUN)
                    } catch .interfaceGone {
                        toTUN.releaseAll()
                        fail("Interface \(name) deleted")
                        return
                    } catch {}
                    toTUN.releaseAll()
                }
            }
            // Handshake messages after the batch's transport data is on the TUN: their checks
            // (and, under load, cookie replies) never delay it. Their buffers are disjoint
            // from the delivered ones, and detaching leaves the others' indices alone.
            if !handshakeIndices.isEmpty {
                admitHandshakes(handshakeIndices, of: batch, now: now, outbox: outbox, admission: admission, rng: &rng)
            }
            if let counts = admission.report(now: now) { logAdmission(counts) }
            outbox.flush()
            if disallowed > 0, disallowedLoggedAt.map({ now - $0 >= .seconds(1) }) ?? true {
                log.verbose("Dropped \(disallowed) packets with a source address outside the sending peer's allowed IPs")
                disallowed = 0
                disallowedLoggedAt = now
            }
        }
    }

    /// Before the lock: the receiver's admission (per-source limit; under load, its budget of
    /// MAC checks), then the cookie checks (CookieGate): a handshake message whose mac1 is
    /// not ours is dropped; under load, one without a valid cookie gets a cookie reply from
    /// this thread and is dropped too. The rest queue for the handshake worker.
    private func admitHandshakes(_ indices: [Int], of batch: PacketBatch, now: Instant, outbox: Outbox,
                                 admission: HandshakeAdmission, rng: inout SystemRandomNumberGenerator) {
        let gate = cookieGate.withLock { $0 }
        let clock = now.nanoseconds
        if handshakes.count >= max(1, handshakes.limit / 8) {
            loadedUntil.store(clock + WireGuardConstants.underLoadAfterTime.nanoseconds, ordering: .relaxed)
        }
        let underLoad = clock < loadedUntil.load(ordering: .relaxed)
        for i in indices {
            guard let source = batch[i].endpoint,
                  admission.admit(source.address, underLoad: underLoad, now: now) == .examine else { continue }
            let bytes = UnsafeRawBufferPointer(batch[i].bytes)
            switch gate.check(bytes, from: source) {
            case .notForUs:
                continue
            case .noCookie where underLoad:
                let reply = gate.reply(to: bytes, from: source, rng: &rng)
                withUnsafeTemporaryAllocation(byteCount: CookieReply.length, alignment: 8) { out in
                    reply.write(to: out)
                    outbox.copy(UnsafeRawBufferPointer(out), to: source)
                }
                if admission.cookieReplySent(now: now) { log.verbose("Under load: sent cookie reply to \(source)") }
                continue
            default:
                let datagram = batch.detach(at: i)
                if !handshakes.push(datagram) { pool.release(datagram) }
            }
        }
    }

    /// One line a second for what a flood cost, not one per datagram.
    private func logAdmission(_ counts: HandshakeAdmission.Counts) {
        log.verbose("Handshake messages in the last second: \(counts.cookieReplies) answered with a cookie reply, "
            + "\(counts.overSourceLimit) over their source's limit and \(counts.overBudget) over the receiver's budget dropped")
    }

    /// Handshake messages, one at a time under the lock, with the queue's depth as the
    /// device's "under load" signal.
    func runHandshakes() {
        let outbox = Outbox(pool: pool, bind: bind, capacity: configuration.batchSize, sticky: sticky)
        let send = outbox.sender
        while let messages = try? handshakes.pop(max: 16), !stopSignal.isStopped {
            let backlog = handshakes.count
            for message in messages {
                guard let source = message.endpoint else {
                    pool.release(message)
                    continue
                }
                let now = self.now()
                let (outcome, peer) = core.withLock { device -> (ReceiveOutcome, PublicKey?) in
                    device.handshakeBacklog = backlog + messages.count
                    let outcome = device.receive(message.bytes, from: source, now: now, send: send)
                    if case .handshake(let id) = outcome { return (outcome, device.publicKey(of: id)) }
                    return (outcome, nil)
                }
                if case .handshake = outcome, let local = message.local { sticky.learn([(source, local)]) }
                pool.release(message)
                switch outcome {
                case .handshake:
                    log.verbose("\(peer?.logName ?? "peer") - Handshake message from \(source) consumed")
                case .cookieReplySent:
                    log.verbose("Under load: sent cookie reply to \(source)")
                case .dropped(let reason):
                    log.verbose("Dropped handshake message from \(source): \(reason)")
                default:
                    break
                }
            }
            outbox.flush()
        }
    }
}

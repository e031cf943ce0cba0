import Glibc
import WireGuard

extension UserspaceDevice {
    /// Answers one UAPI request (the `UAPIServer`'s handler). A `set` that cannot be carried
    /// out changes nothing: parsing has validated it whole, and a new listen port is bound
    /// before anything else is applied.
    public func handle(_ request: UAPIRequest) -> String {
        switch request {
        case .get:
            let status = core.withLock { $0.uapiStatus(now: now()) }
            return UAPI.render(status)
        case .set(let set):
            return UAPI.response(errno: Int64(apply(set)))
        }
    }

    /// Applies a set request; returns 0 or a negative errno.
    func apply(_ set: UAPISetRequest) -> Int32 {
        var port: UInt16?
        var mark: UInt32?
        for change in set.device {
            if case .listenPort(let p) = change { port = p }
            if case .fwmark(let m) = change { mark = m }
        }
        // The mark first: it is the step that can be undone (a rebind cannot, once the old
        // port is given up), so a request that fails leaves both as they were.
        let previousMark = core.withLock { $0.fwmark }
        if let mark {
            do { try bind.setMark(mark) } catch {
                log.error("Failed to set fwmark \(mark): \(error)")
                return -EPERM
            }
        }
        if let port, port == 0 || port != listenPort {
            do {
                try rebind(port: port)
            } catch {
                log.error("Failed to bind port \(port): \(error)")
                if mark != nil { try? bind.setMark(previousMark) }
                return -EADDRINUSE
            }
        }
        let outbox = Outbox(pool: pool, bind: bind, capacity: configuration.batchSize, sticky: sticky)
        let send = outbox.sender
        let actualPort = listenPort
        let gate = core.withLock { device in
            let now = self.now()
            device.apply(set, now: now, send: send)
            device.listenPort = actualPort
            return device.cookieGate(now: now)
        }
        cookieGate.withLock { $0 = gate }
        outbox.flush()
        log.verbose("UAPI: configuration updated (\(set.peers.count) peer changes)")
        return 0
    }
}

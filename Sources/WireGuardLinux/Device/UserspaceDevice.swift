import Glibc
import Synchronization
import WireGuard

/// A running WireGuard interface: the sans-IO core (`WireGuard.Device`) driven by threads over
/// a TUN device, a UDP bind and the UAPI. The core sits behind one lock that each stage takes
/// only for its sequential steps (routing, counters, replay checks, timers); sealing and
/// opening happen outside it, fanned out over the cores for large batches.
///
/// Threads: one TUN reader (TUN → seal → UDP), one receiver per UDP socket (UDP → open →
/// TUN), one handshake worker fed by a bounded queue (so a flood of initiations cannot
/// starve transport data, and its depth is the "under load" signal), one timer thread, the
/// link monitor, and the UAPI server's.
public final class UserspaceDevice: @unchecked Sendable {
    public struct Configuration: Sendable {
        /// Packets per system call (recvmmsg/sendmmsg, TUN reads).
        public var batchSize = 128
        /// Buffers in the pool: the bound on memory held by packets in flight.
        public var poolSlots = 1024
        /// Bytes per buffer: headroom 16 + an MTU up to 9,000 + tailroom 32, rounded up.
        public var slotSize = 9216
        /// Handshake messages waiting; beyond it they are dropped. They wait in pool buffers,
        /// so this is kept to a quarter of the pool: a flood of initiations must leave the
        /// rest to transport data (with the whole pool queued, the TUN reader and the UDP
        /// receivers starve waiting for buffers and established sessions stall).
        public var handshakeQueueLimit = 256
        /// How often timers run.
        public var timerInterval = Interval.milliseconds(100)
        public var cryptoWorkers = CryptoFanOut.defaultWorkers
        public init() {}
    }

    public let name: String
    let configuration: Configuration
    let log: DeviceLog
    let tun: any TUNDevice
    let bind: any UDPBind
    let links: (any LinkEventSource)?
    let pool: PacketBufferPool
    let core: Mutex<Device>
    let stopSignal: StopSignal
    let handshakes: BlockingQueue<PacketBuffer>
    let fanOut: CryptoFanOut
    /// Wall-clock nanoseconds at monotonic zero, for TAI64N and last-handshake times.
    let wallClockOffset: Int64
    let bindLock = Mutex<BindState>(BindState())
    /// The local address each peer last reached us on, for replies (StickySources.swift).
    let sticky = StickySources()
    /// The core's cookie checks for the receiving threads (mac1 always; under load mac2,
    /// and cookie replies sent by the receivers themselves), so handshake messages that are
    /// not for us or carry no cookie never queue for the core's lock. Replaced when the
    /// private key changes and on every timer tick (the cookie secret rotates).
    let cookieGate: Mutex<CookieGate>
    /// Until when (monotonic ns) the receivers treat the device as under load: the
    /// handshake queue was an eighth full, and a second after (the kernel's rule).
    let loadedUntil = Atomic<Int64>(0)
    /// Whether the interface is down (sockets closed); held while sockets open or close, so
    /// a UAPI rebind and a link change never interleave.
    private let socketState = Mutex(false)
    private let threads = Mutex<[IOThread]>([])
    /// The current sockets' receiver threads, joined when a rebind or `close` ends them.
    private let receivers = Mutex<[IOThread]>([])
    private let closed = Mutex(false)

    struct BindState {
        var port: UInt16 = 0
        var generation = 0
    }

    /// Called once when the device stops by itself (interface deleted): the daemon exits.
    public var onStop: (@Sendable (String) -> Void)?

    public init(name: String, tun: any TUNDevice, bind: any UDPBind, links: (any LinkEventSource)?,
                log: DeviceLog, configuration: Configuration = Configuration()) throws(SystemError) {
        self.name = name
        self.configuration = configuration
        self.log = log
        self.tun = tun
        self.bind = bind
        self.links = links
        pool = PacketBufferPool(slotCount: configuration.poolSlots, slotSize: configuration.slotSize)
        stopSignal = try StopSignal()
        handshakes = BlockingQueue(limit: max(1, min(configuration.handshakeQueueLimit, configuration.poolSlots / 4)))
        fanOut = CryptoFanOut(workers: configuration.cryptoWorkers)
        let monotonic = MonotonicTime.now().nanoseconds
        var wall = timespec()
        clock_gettime(CLOCK_REALTIME, &wall)
        wallClockOffset = Int64(wall.tv_sec) * 1_000_000_000 + Int64(wall.tv_nsec) - monotonic
        var device = Device(rng: SystemRandomNumberGenerator())
        device.wallClockOffset = wallClockOffset
        if let mtu = try? tun.mtu() { device.mtu = mtu }
        cookieGate = Mutex(device.cookieGate(now: Instant(nanoseconds: monotonic)))
        core = Mutex(device)
    }

    /// The core's clock.
    func now() -> Instant { Instant(nanoseconds: MonotonicTime.now().nanoseconds) }

    /// Opens the UDP sockets on a random port and starts every thread.
    public func start() throws {
        try rebind(port: 0)
        try spawn("tun-reader") { [self] in runOutbound() }
        try spawn("handshakes") { [self] in runHandshakes() }
        try spawn("timers") { [self] in runTimers() }
        if links != nil { try spawn("link-events") { [self] in runLinkEvents() } }
        log.verbose("Device started, listening on port \(bindLock.withLock { $0.port })")
    }

    func spawn(_ name: String, _ body: @escaping @Sendable () -> Void) throws {
        let thread = try IOThread(name: name, body)
        threads.withLock { $0.append(thread) }
    }

    public var isStopped: Bool { stopSignal.isStopped }

    /// Stops every thread and releases the interface and sockets. Idempotent.
    public func close() {
        guard closed.withLock({ c in defer { c = true }; return !c }) else { return }
        stopSignal.stop()
        links?.close()
        handshakes.close()
        bind.close()
        tun.close()
        pool.close()
        let all = threads.withLock { t in defer { t.removeAll() } ; return t }
        for t in all + takeReceivers() { t.join() }
        log.verbose("Device closed")
    }

    /// Stops because the interface went away (or another fatal condition), telling `onStop`.
    func fail(_ reason: String) {
        guard !stopSignal.isStopped else { return }
        log.verbose(reason)
        stopSignal.stop()
        onStop?(reason)
    }

    // MARK: UDP sockets

    /// Closes and reopens the sockets on `port` (0 = any), starting a receiver thread per
    /// socket. On failure the previous port is reopened and the error rethrown. While the
    /// interface is down the sockets stay closed and the port is kept for `up` (wireguard-go).
    func rebind(port: UInt16) throws {
        try socketState.withLock { (linkDown: inout Bool) throws in
            if linkDown {
                bindLock.withLock { $0.port = port }
                core.withLock { $0.listenPort = port }
                return
            }
            let previous = bindLock.withLock { $0.port }
            closeSockets()
            let opening: BindOpening
            do {
                opening = try bind.open(port: port)
            } catch {
                if let back = try? bind.open(port: previous) { startReceivers(back) }
                throw error
            }
            startReceivers(opening)
        }
    }

    /// The interface went down or up: close the sockets, or reopen them on the same port
    /// (wireguard-go's `Down`/`Up`: a down interface holds no port; traffic resumes on `up`
    /// without a new `wg set`).
    func linkChanged(up: Bool) {
        socketState.withLock { linkDown in
            guard linkDown == up else { return }
            linkDown = !up
            if !up {
                closeSockets()
                log.verbose("Interface down: UDP sockets closed")
                return
            }
            let port = bindLock.withLock { $0.port }
            do {
                startReceivers(try bind.open(port: port))
                log.verbose("Interface up: listening on port \(bindLock.withLock { $0.port })")
            } catch {
                // The port was taken meanwhile: no sockets until `wg set` gives another.
                log.error("Interface up, but cannot reopen port \(port): \(error)")
            }
        }
    }

    /// Closes the sockets and joins their receivers (returning with `.closed`), or every
    /// rebind would leave two exited but unjoined threads holding their stacks.
    private func closeSockets() {
        bind.close()
        for t in takeReceivers() { t.join() }
    }

    private func startReceivers(_ opening: BindOpening) {
        let generation = bindLock.withLock { state in
            state.port = opening.port
            state.generation += 1
            return state.generation
        }
        core.withLock { $0.listenPort = opening.port }
        for receiver in opening.receivers {
            guard let thread = try? IOThread(name: "udp-rx-\(receiver.family)-\(generation)", { [self] in runInbound(receiver) })
            else { continue }
            receivers.withLock { $0.append(thread) }
        }
    }

    private func takeReceivers() -> [IOThread] {
        receivers.withLock { r in defer { r.removeAll() }; return r }
    }

    public var listenPort: UInt16 { bindLock.withLock { $0.port } }

    // MARK: Timers and link events

    private func runTimers() {
        let outbox = Outbox(pool: pool, bind: bind, capacity: configuration.batchSize, sticky: sticky)
        while !stopSignal.sleep(until: MonotonicTime(nanoseconds: MonotonicTime.now().nanoseconds + configuration.timerInterval.nanoseconds)) {
            let now = self.now()
            let send = outbox.sender
            let gate = core.withLock { device in
                device.updateTimers(now: now, send: send)
                return device.cookieGate(now: now)
            }
            cookieGate.withLock { $0 = gate }
            outbox.flush()
        }
    }

    private func runLinkEvents() {
        guard let links else { return }
        while let event = links.next() {
            switch event {
            case .mtuChanged(let mtu):
                log.verbose("MTU updated: \(mtu)")
                core.withLock { $0.mtu = mtu }
            case .deleted:
                fail("Interface \(name) deleted")
                return
            case .up:
                linkChanged(up: true)
            case .down:
                linkChanged(up: false)
            case .moved(let newName):
                // Our sockets stay where they were opened (the namespace of birth), as with
                // wireguard-go and the kernel module; only the interface moved.
                log.verbose("Interface moved to another network namespace (now \(newName))")
            }
        }
    }
}

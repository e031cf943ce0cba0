import Logging
import NIOCore
import Synchronization

/// Every open HTTP connection, what it is doing and since when: the connection cap (the
/// oldest idle connection makes room for a new one), the idle, header and body timeouts
/// (`sweep`), a long poll's "the client went away" (`watch`), and what a shutdown is
/// waiting for (`inFlight`). Fed by `ConnectionGuardHandler` and `RequestPhaseHandler` on
/// the event loops; one lock, held for a few dictionary operations.
public final class ConnectionRegistry: Sendable {
    public enum Phase: String, Sendable {
        /// Between requests (keep-alive), or not yet a byte.
        case idle
        /// A request's first bytes came, its headers are not complete.
        case headers
        /// Headers read, the body is coming.
        case body
        /// The request is read; the route is answering it (a long poll waits here).
        case handling
    }

    struct Entry {
        let channel: any Channel
        var phase: Phase = .idle
        var since: ContinuousClock.Instant
        var request = ""
        var onDisconnect: (@Sendable () -> Void)?
    }

    struct State {
        var entries: [ObjectIdentifier: Entry] = [:]
        var evicted = 0
        var refused = 0
        var timedOut = 0
    }

    private let state = Mutex(State())
    public let maxConnections: Int
    let limits: ServerLimits
    let logger: Logger

    public init(limits: ServerLimits, maxConnections: Int, logger: Logger) {
        self.limits = limits
        self.maxConnections = maxConnections
        self.logger = logger
    }

    // MARK: Fed by the channel handlers

    /// A new connection. At the cap, the oldest idle connection (else the oldest one still
    /// sending its headers) is closed to make room; when every connection is busy with a
    /// request the new one is refused. Returns false when the caller must close it.
    func opened(_ channel: any Channel) -> Bool {
        let now = ContinuousClock.now
        let (admitted, victim): (Bool, (any Channel)?) = state.withLock { s in
            var victim: (any Channel)?
            if s.entries.count >= maxConnections {
                guard let (key, entry) = Self.oldestEvictable(s.entries) else {
                    s.refused += 1
                    return (false, nil)
                }
                s.entries.removeValue(forKey: key)
                s.evicted += 1
                victim = entry.channel
            }
            s.entries[ObjectIdentifier(channel)] = Entry(channel: channel, since: now)
            return (true, victim)
        }
        victim?.close(promise: nil)
        return admitted
    }

    private static func oldestEvictable(_ entries: [ObjectIdentifier: Entry]) -> (ObjectIdentifier, Entry)? {
        var best: (ObjectIdentifier, Entry)?
        for (key, e) in entries where e.phase == .idle || e.phase == .headers {
            guard let b = best else { best = (key, e); continue }
            // Idle before half-sent; older before newer.
            let better = (e.phase == .idle && b.1.phase != .idle) || (e.phase == b.1.phase && e.since < b.1.since)
            if better { best = (key, e) }
        }
        return best
    }

    /// Bytes arrived: an idle connection starts a request (its header timeout runs).
    func bytesArrived(_ channel: any Channel) {
        state.withLock { s in
            let key = ObjectIdentifier(channel)
            if s.entries[key]?.phase == .idle {
                s.entries[key]?.phase = .headers
                s.entries[key]?.since = .now
            }
        }
    }

    func setPhase(_ channel: any Channel, _ phase: Phase, request: String? = nil) {
        state.withLock { s in
            let key = ObjectIdentifier(channel)
            guard s.entries[key] != nil else { return }
            s.entries[key]?.phase = phase
            s.entries[key]?.since = .now
            if let request { s.entries[key]?.request = request }
        }
    }

    /// The connection closed, or the client half-closed it while its request is being
    /// answered (it will not read the answer): a long poll on it stops at once.
    func disconnected(_ channel: any Channel, closed: Bool) {
        let action = state.withLock { s -> (@Sendable () -> Void)? in
            let key = ObjectIdentifier(channel)
            if closed { return s.entries.removeValue(forKey: key)?.onDisconnect }
            guard s.entries[key]?.phase == .handling else { return nil }
            defer { s.entries[key]?.onDisconnect = nil }
            return s.entries[key]?.onDisconnect
        }
        action?()
    }

    // MARK: Used by the routes

    enum Watch { case watching, gone, unknown }

    /// Runs `action` (once) when the client of `channel` goes away. `.gone`: it has
    /// already; `.unknown`: not a connection of this registry (the router test client).
    func watch(_ channel: any Channel, _ action: @escaping @Sendable () -> Void) -> Watch {
        state.withLock { s in
            let key = ObjectIdentifier(channel)
            guard s.entries[key] != nil else { return .unknown }
            guard channel.isActive else { return .gone }
            s.entries[key]?.onDisconnect = action
            return .watching
        }
    }

    func unwatch(_ channel: any Channel) {
        state.withLock { $0.entries[ObjectIdentifier(channel)]?.onDisconnect = nil }
    }

    // MARK: Timeouts, metrics, shutdown

    /// Closes connections idle, or slow with their headers or body, past their timeout.
    /// Returns how many it closed.
    @discardableResult
    func sweep(now: ContinuousClock.Instant = .now) -> Int {
        let late = state.withLock { s -> [any Channel] in
            var late: [any Channel] = []
            for (key, e) in s.entries {
                let limit: Duration
                switch e.phase {
                case .idle: limit = limits.idleTimeout
                case .headers: limit = limits.headerTimeout
                case .body: limit = limits.bodyTimeout
                case .handling: continue
                }
                if now - e.since >= limit {
                    late.append(e.channel)
                    s.entries.removeValue(forKey: key)
                }
            }
            s.timedOut += late.count
            return late
        }
        for c in late { c.close(promise: nil) }
        return late.count
    }

    public struct Counts: Sendable, Equatable {
        public var open = 0
        public var byPhase: [Phase: Int] = [:]
        public var evicted = 0
        public var refused = 0
        public var timedOut = 0
    }

    public var counts: Counts {
        state.withLock { s in
            var c = Counts(open: s.entries.count, evicted: s.evicted, refused: s.refused, timedOut: s.timedOut)
            for e in s.entries.values { c.byPhase[e.phase, default: 0] += 1 }
            return c
        }
    }

    /// The requests being read or answered now, oldest first ("GET /v1/peers/x/netmap").
    public func inFlight() -> [String] {
        state.withLock { s in
            s.entries.values.filter { $0.phase == .handling || $0.phase == .body }.sorted { $0.since < $1.since }
                .map { $0.request.isEmpty ? $0.phase.rawValue : $0.request }
        }
    }
}

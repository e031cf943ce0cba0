import Logging
import ServiceLifecycle

/// Removes ephemeral peers whose TTL has run out, every `periodMs` on the injected clock.
/// Expiry times are wall-clock times in the store, so a restart neither forgets nor
/// resets them: the first pass after a start removes what expired while ferryd was down.
/// A peer is never removed before its expiry and always within one period after it.
public struct Reaper: Service {
    let store: FerryStore
    let clock: any FerryClock
    let periodMs: Int64
    let logger: Logger

    public init(store: FerryStore, clock: any FerryClock, periodMs: Int64, logger: Logger) {
        self.store = store
        self.clock = clock
        self.periodMs = periodMs
        self.logger = logger
    }

    public func run() async throws {
        try await runPeriodically(clock: clock, periodMs: periodMs, logger: logger, what: "reaper pass") {
            let n = try await store.reapExpired()
            if n > 0 { logger.info("reaper removed expired peers", metadata: ["count": .stringConvertible(n)]) }
        }
    }
}

/// Rotates the local gateway's key when it is older than the cadence (checked hourly, or
/// every `checkMs`).
public struct KeyRotationService: Service {
    let store: FerryStore
    let clock: any FerryClock
    let cadenceSeconds: Int64
    let checkMs: Int64
    let logger: Logger

    public init(store: FerryStore, clock: any FerryClock, cadenceSeconds: Int64, checkMs: Int64 = 3_600_000, logger: Logger) {
        self.store = store
        self.clock = clock
        self.cadenceSeconds = cadenceSeconds
        self.checkMs = checkMs
        self.logger = logger
    }

    public func run() async throws {
        try await runPeriodically(clock: clock, periodMs: checkMs, logger: logger, what: "gateway key rotation") {
            if try await store.rotateLocalGatewayKeyIfDue(cadenceSeconds: cadenceSeconds) {
                logger.notice("rotated the gateway key on its cadence")
            }
        }
    }
}

/// Runs `body` now and then every `periodMs` on `clock` until graceful shutdown; a failed
/// pass is logged and the next one runs on time.
func runPeriodically(clock: any FerryClock, periodMs: Int64, logger: Logger, what: String,
                     _ body: @escaping @Sendable () async throws -> Void) async throws {
    do {
        try await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do { try await body() } catch where !Task.isCancelled {
                    logger.error("\(what) failed", metadata: ["error": .string("\(error)")])
                }
                try await clock.sleep(milliseconds: periodMs)
            }
        }
    } catch is CancellationError {
        // Graceful shutdown: a normal end.
    }
}

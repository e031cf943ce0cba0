import Logging
import ServiceLifecycle

/// Turns gateway heartbeats into the up/down verdicts the network maps follow (see
/// Store+Failover.swift): every `periodMs`, a gateway whose last heartbeat is older than
/// `downAfterMs` goes down, and one that has been alive again for `holdDownMs` comes back.
/// Agents move a subnet's routes within about downAfter + period + one long-poll answer.
public struct GatewayLiveness: Service {
    public struct Settings: Sendable, Equatable {
        public var downAfterMs: Int64 = 3_000
        public var holdDownMs: Int64 = 10_000
        public var periodMs: Int64 = 250
        public init(downAfterMs: Int64 = 3_000, holdDownMs: Int64 = 10_000, periodMs: Int64 = 250) {
            self.downAfterMs = downAfterMs
            self.holdDownMs = holdDownMs
            self.periodMs = periodMs
        }
    }

    let store: FerryStore
    let clock: any FerryClock
    let settings: Settings
    let logger: Logger

    public init(store: FerryStore, clock: any FerryClock, settings: Settings, logger: Logger) {
        self.store = store
        self.clock = clock
        self.settings = settings
        self.logger = logger
    }

    public func run() async throws {
        let started = clock.now()
        let s = settings
        try await runPeriodically(clock: clock, periodMs: s.periodMs, logger: logger, what: "gateway liveness") {
            for v in try await store.evaluateGatewayLiveness(downAfterMs: s.downAfterMs, holdDownMs: s.holdDownMs, notBefore: started) {
                if v.up {
                    logger.notice("gateway \(v.name) is up again (alive for the hold-down): agents move its subnets back")
                } else {
                    logger.warning("gateway \(v.name) is down (no heartbeat for \(s.downAfterMs) ms): agents move its subnets to the next gateway")
                }
            }
        }
    }
}

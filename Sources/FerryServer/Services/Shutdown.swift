import Hummingbird
import Logging
import ServiceLifecycle

/// Closes connections past their idle, header or body timeout, once a second.
struct ConnectionSweeper: Service {
    let connections: ConnectionRegistry

    func run() async throws {
        do {
            try await cancelWhenGracefulShutdown {
                while !Task.isCancelled {
                    try await Task.sleep(for: .seconds(1))
                    connections.sweep()
                }
            }
        } catch is CancellationError {}
    }
}

/// The first thing a graceful shutdown (SIGTERM, SIGINT) does, before the HTTP server
/// stops: answer every waiting long poll at once, so agents reconnect (to the next ferryd)
/// instead of waiting out their poll, and log what is still in flight, every half second
/// until the server has drained.
struct ShutdownAnnouncer: Service {
    let services: FerryServices

    func run() async throws {
        do { try await gracefulShutdown() } catch { return }
        let logger = services.logger, connections = services.connections
        let answered = services.longPolls.drain()
        logger.notice("shutting down: answered waiting long polls; finishing requests in flight", metadata: [
            "long_polls": .stringConvertible(answered), "in_flight": .string(connections.inFlight().joined(separator: ", ")),
            "connections": .stringConvertible(connections.counts.open),
        ])
        // Detached: this service must return now so the server's own shutdown can begin;
        // the process ends it.
        Task.detached {
            while true {
                try? await Task.sleep(for: .milliseconds(500))
                let left = connections.inFlight()
                if left.isEmpty { return }
                logger.notice("shutting down: waiting for requests in flight", metadata: [
                    "count": .stringConvertible(left.count), "requests": .string(left.prefix(10).joined(separator: ", ")),
                ])
            }
        }
    }
}

/// The service group `ferryd serve` runs: the application and the shutdown announcer.
/// On SIGTERM or SIGINT (or `triggerGracefulShutdown()`) waiting long polls are answered at
/// once, requests in flight finish, idle connections close; whatever still runs
/// `limits.drainTimeout` after the signal is cancelled.
/// `signals: false` for tests, which call `triggerGracefulShutdown()` instead.
public func serviceGroup(_ app: some ApplicationProtocol, services: FerryServices, limits: ServerLimits,
                         signals: Bool = true) -> ServiceGroup {
    // ServiceGroup shuts services down in reverse order: the announcer first, then the app
    // (its HTTP server stops accepting, closes idle connections, waits for answers).
    var config = ServiceGroupConfiguration(
        services: [.init(service: app),
                   .init(service: ShutdownAnnouncer(services: services), successTerminationBehavior: .gracefullyShutdownGroup)],
        gracefulShutdownSignals: signals ? [.sigterm, .sigint] : [], logger: services.logger)
    config.maximumGracefulShutdownDuration = limits.drainTimeout
    // Past this after cancellation ServiceLifecycle stops the process with a fatal error.
    // 300 ms was hit on a loaded 2-core machine (a database pool closing), taking a whole
    // test process down; a service that ignores cancellation still cannot hang ferryd.
    config.maximumCancellationDuration = .seconds(5)
    return ServiceGroup(configuration: config)
}

import Foundation
import NIOHTTP1

extension CoordinatorClient {
    /// Reads the coordinator's clock: `GET /health`, the `Date` header of its answer, and our
    /// clock when the request left and when the answer's head arrived. nil when there was
    /// no answer.
    public func clockSample() async -> ClockSample? {
        let arrival = HeadArrival()
        let sent = Date()
        do {
            _ = try await transport.exchange(method: .GET, target: basePath + "/health", headers: [("Accept", "application/json")],
                                             body: nil, timeout: .seconds(timeout)) { head in
                arrival.set(Date(), head.headers.first(name: "Date"))
            }
        } catch {
            return nil
        }
        guard let (received, date) = arrival.value else { return nil }
        return ClockSample(serverDate: date.flatMap(ClockSample.parseHTTPDate), sent: sent, received: received)
    }
}

/// When the answer's head arrived and its `Date` header (set on an event loop, read after).
private final class HeadArrival: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: (Date, String?)?

    func set(_ at: Date, _ date: String?) { lock.withLock { stored = (at, date) } }
    var value: (Date, String?)? { lock.withLock { stored } }
}

import FerryCore
import Foundation
import Synchronization

/// The time ferryd runs on: wall-clock milliseconds for what it stores (creation,
/// expiry), and sleeping for its periodic services. Injected, so tests run minutes of
/// expiry in microseconds.
public protocol FerryClock: Sendable {
    func now() -> Millis
    func sleep(milliseconds: Int64) async throws
}

/// The system's clock.
public struct SystemClock: FerryClock {
    public init() {}
    public func now() -> Millis { Millis((Date().timeIntervalSince1970 * 1000).rounded(.down)) }
    public func sleep(milliseconds: Int64) async throws { try await Task.sleep(for: .milliseconds(milliseconds)) }
}

/// A clock that moves only when told to: `advance(by:)` wakes the sleepers whose time
/// has come, in order.
public final class ManualClock: FerryClock {
    private struct Sleeper {
        let id: UInt64
        let deadline: Millis
        let continuation: CheckedContinuation<Void, any Error>
    }
    private struct State {
        var now: Millis
        var nextID: UInt64 = 0
        var sleepers: [Sleeper] = []
    }
    private let state: Mutex<State>

    public init(now: Millis = 1_767_225_600_000) { state = Mutex(State(now: now)) }

    public func now() -> Millis { state.withLock { $0.now } }

    /// How many tasks are asleep on this clock (tests wait for services to park).
    public var sleeperCount: Int { state.withLock { $0.sleepers.count } }

    public func sleep(milliseconds: Int64) async throws {
        let id = state.withLock { s in s.nextID += 1; return s.nextID }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, any Error>) in
                let resumeNow: Bool = state.withLock { s in
                    if Task.isCancelled { return true }
                    let deadline = s.now + max(0, milliseconds)
                    if deadline <= s.now && milliseconds <= 0 { return true }
                    s.sleepers.append(Sleeper(id: id, deadline: deadline, continuation: c))
                    return false
                }
                if resumeNow {
                    if Task.isCancelled { c.resume(throwing: CancellationError()) } else { c.resume() }
                }
            }
        } onCancel: {
            let s = state.withLock { s -> Sleeper? in
                guard let i = s.sleepers.firstIndex(where: { $0.id == id }) else { return nil }
                return s.sleepers.remove(at: i)
            }
            s?.continuation.resume(throwing: CancellationError())
        }
    }

    /// Moves time forward and wakes every sleeper whose deadline has passed.
    public func advance(by milliseconds: Int64) {
        let due = state.withLock { s -> [Sleeper] in
            s.now += milliseconds
            let now = s.now
            let due = s.sleepers.filter { $0.deadline <= now }.sorted { $0.deadline < $1.deadline }
            s.sleepers.removeAll { $0.deadline <= now }
            return due
        }
        for s in due { s.continuation.resume() }
    }
}

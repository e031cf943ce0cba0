import Synchronization

/// Tells waiters that the store changed: the gateway sync and long-polling network-map
/// requests wake on it instead of polling.
public final class ChangeFeed: Sendable {
    private struct State {
        var revision: UInt64 = 0
        var waiters: [UInt64: CheckedContinuation<UInt64, Never>] = [:]
        var nextID: UInt64 = 0
    }
    private let state = Mutex(State())

    public init() {}

    public var revision: UInt64 { state.withLock { $0.revision } }

    /// Called after every committed change.
    public func notify() {
        let (rev, waiters) = state.withLock { s -> (UInt64, [CheckedContinuation<UInt64, Never>]) in
            s.revision += 1
            let w = Array(s.waiters.values)
            s.waiters.removeAll()
            return (s.revision, w)
        }
        for w in waiters { w.resume(returning: rev) }
    }

    /// Returns once the revision is past `revision`, or after `timeout`, or on cancellation;
    /// the revision it then sees.
    @discardableResult
    public func wait(after revision: UInt64, timeout: Duration) async -> UInt64 {
        let id = state.withLock { s in s.nextID += 1; return s.nextID }
        return await withTaskGroup(of: UInt64.self) { group in
            group.addTask {
                await withTaskCancellationHandler {
                    await withCheckedContinuation { (c: CheckedContinuation<UInt64, Never>) in
                        let current: UInt64? = self.state.withLock { s in
                            if s.revision > revision || Task.isCancelled { return s.revision }
                            s.waiters[id] = c
                            return nil
                        }
                        if let current { c.resume(returning: current) }
                    }
                } onCancel: {
                    let c = self.state.withLock { $0.waiters.removeValue(forKey: id) }
                    c?.resume(returning: self.revision)
                }
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return self.revision
            }
            let first = await group.next() ?? self.revision
            group.cancelAll()
            return first
        }
    }
}

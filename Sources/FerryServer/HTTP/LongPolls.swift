import FerryCore
import NIOCore
import Synchronization

/// The waiting long polls: capped in total and per token (429 past either), each one
/// stopped at once when its client goes away, and all answered at once when ferryd shuts
/// down (`drain`), so agents reconnect to the next ferryd instead of waiting out their poll.
public final class LongPolls: Sendable {
    struct State {
        var total = 0
        var perToken: [String: Int] = [:]
        var running: [UInt64: Task<Void, Never>] = [:]
        var nextID: UInt64 = 0
        var draining = false
    }

    private let state = Mutex(State())
    public let maxTotal: Int
    public let maxPerToken: Int

    public init(maxTotal: Int, maxPerToken: Int) {
        self.maxTotal = maxTotal
        self.maxPerToken = maxPerToken
    }

    public var waiting: Int { state.withLock { $0.total } }

    /// Runs one long poll: `body(true)` waits until it has an answer or is cancelled (then
    /// it answers with what it has). It is cancelled when the client of `channel` goes away
    /// (the connection is closed too, so its socket does not linger in CLOSE-WAIT) and on
    /// `drain`; after a drain, `body(false)` answers without waiting. Throws a 429
    /// `TooManyRequests` past the caps.
    func run<T: Sendable>(token: String, channel: (any Channel)?, connections: ConnectionRegistry?,
                          _ body: @escaping @Sendable (_ mayWait: Bool) async throws -> T) async throws -> T {
        if state.withLock({ $0.draining }) { return try await body(false) }
        let id = try admit(token)
        defer { release(id, token: token) }
        let result = Mutex<Result<T, any Error>?>(nil)
        let task = Task {
            do { let v = try await body(true); result.withLock { $0 = .success(v) } } catch { result.withLock { $0 = .failure(error) } }
        }
        let draining = state.withLock { s in
            if !s.draining { s.running[id] = task }
            return s.draining
        }
        if draining { task.cancel() }
        if let channel, let connections {
            let watch = connections.watch(channel) {
                task.cancel()
                channel.close(promise: nil)
            }
            if watch == .gone { task.cancel() }
        }
        defer { if let channel { connections?.unwatch(channel) } }
        await withTaskCancellationHandler { await task.value } onCancel: { task.cancel() }
        guard let r = result.withLock({ $0 }) else { throw CancellationError() }
        return try r.get()
    }

    /// Throws the 429 that `run` would throw now, without taking a place: a heartbeat poll
    /// (HeartbeatPoll) checks before its head goes out, since its status is 200 after that.
    func check(token: String) throws {
        try state.withLock { s throws(TooManyRequests) in try refuse(s, token) }
    }

    private func refuse(_ s: State, _ token: String) throws(TooManyRequests) {
        if s.draining { return }
        if s.total >= maxTotal {
            throw TooManyRequests(code: "too_many_long_polls", message: "ferryd has \(maxTotal) long polls waiting, its limit; retry shortly",
                                  retryAfterSeconds: 1)
        }
        if s.perToken[token, default: 0] >= maxPerToken {
            throw TooManyRequests(code: "too_many_long_polls",
                                  message: "this token has \(maxPerToken) long polls waiting, its limit; close one or retry later",
                                  retryAfterSeconds: 1)
        }
    }

    private func admit(_ token: String) throws -> UInt64 {
        try state.withLock { s throws(TooManyRequests) -> UInt64 in
            try refuse(s, token)
            let mine = s.perToken[token, default: 0]
            s.total += 1
            s.perToken[token] = mine + 1
            s.nextID += 1
            return s.nextID
        }
    }

    private func release(_ id: UInt64, token: String) {
        state.withLock { s in
            s.total -= 1
            let left = s.perToken[token, default: 1] - 1
            s.perToken[token] = left > 0 ? left : nil
            s.running.removeValue(forKey: id)
        }
    }

    /// Answers every waiting long poll now and every later one at once. Returns how many
    /// were waiting.
    @discardableResult
    public func drain() -> Int {
        let tasks = state.withLock { s -> [Task<Void, Never>] in
            s.draining = true
            return Array(s.running.values)
        }
        for t in tasks { t.cancel() }
        return tasks.count
    }
}

/// A 429: a long-poll cap or a write rate limit. The body is the usual error JSON; the
/// `Retry-After` header says when to try again.
struct TooManyRequests: Error {
    var code: String
    var message: String
    var retryAfterSeconds: Int

    var apiError: APIError { APIError(status: 429, code: code, message: message) }
}

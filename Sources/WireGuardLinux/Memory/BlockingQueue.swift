/// A bounded, thread-safe FIFO whose readers block until something arrives or the queue is
/// closed: the wire of the in-memory doubles. Like a real interface queue it drops what
/// arrives when full (and counts it) rather than blocking the sender.
public final class BlockingQueue<Element>: @unchecked Sendable {
    public let limit: Int
    private var items: [Element?]
    private var head = 0
    private var stored = 0
    private var closedReason: Closure?
    private var deliverQueued = false
    private var droppedCount = 0
    private let lock = ConditionLock()

    /// Why reads stop: the queue was closed, or what it stood for went away.
    public enum Closure: Error, Equatable, Sendable {
        case closed, gone
    }

    public init(limit: Int = 4096) {
        precondition(limit > 0)
        self.limit = limit
        items = Array(repeating: nil, count: limit)
    }

    /// Adds an element; false (and counted as dropped) when full or closed.
    @discardableResult public func push(_ element: Element) -> Bool {
        lock.withLock {
            guard closedReason == nil, stored < limit else {
                droppedCount += 1
                return false
            }
            items[(head + stored) % limit] = element
            stored += 1
            if stored == 1 { lock.broadcast() }
            return true
        }
    }

    /// Blocks until at least one element is queued (or the deadline passes: empty result),
    /// then removes up to `max` elements. Throws the closure once closed (after what was
    /// queued, if the queue was closed with `deliveringQueued`).
    public func pop(max: Int, until deadline: MonotonicTime? = nil) throws(Closure) -> [Element] {
        try lock.withLock { () throws(Closure) -> [Element] in
            while true {
                if stored > 0, closedReason == nil || deliverQueued { break }
                if let closedReason { throw closedReason }
                if !lock.wait(until: deadline), stored == 0, closedReason == nil { return [] }
            }
            let n = min(max, stored)
            var out: [Element] = []
            out.reserveCapacity(n)
            for _ in 0..<n {
                if let element = items[head] { out.append(element) }
                items[head] = nil
                head = (head + 1) % limit
                stored -= 1
            }
            return out
        }
    }

    /// One element, waiting until the deadline; nil on time-out or when closed.
    public func pop(until deadline: MonotonicTime?) -> Element? {
        (try? pop(max: 1, until: deadline))?.first
    }

    /// Ends the queue: pushes are dropped, and blocked and future reads throw `reason`,
    /// at once (a closed interface delivers nothing more) or, with `deliveringQueued`,
    /// once what is queued has been read.
    public func close(_ reason: Closure = .closed, deliveringQueued: Bool = false) {
        lock.withLock {
            if closedReason == nil {
                closedReason = reason
                deliverQueued = deliveringQueued
            }
            lock.broadcast()
        }
    }

    public var count: Int { lock.withLock { stored } }
    public var dropped: Int { lock.withLock { droppedCount } }
}

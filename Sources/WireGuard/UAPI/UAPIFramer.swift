/// Cuts the byte stream of one UAPI connection into requests.
///
/// Feed it what the socket delivers with `append`, then call `next()` until it returns
/// nil. Like wireguard-go it decides on the operation line first: anything but `get=1` or
/// `set=1` ends the connection without an answer. Unlike wireguard-go, which applies a
/// `set` line by line, a request is handed out only once its ending empty line has
/// arrived, so it can be validated whole. A request longer than `limit` bytes ends the
/// connection, so a client cannot make the buffer grow without bound.
public struct UAPIFramer: Sendable {
    public enum Event: Equatable, Sendable {
        /// A complete, valid request: apply it, then answer.
        case request(UAPIRequest)
        /// A complete request that must not be applied: answer `UAPI.response(error)` and
        /// keep reading.
        case reject(UAPIError)
        /// Stop: close the connection (wireguard-go answers nothing to an unknown
        /// operation). Every later `next()` returns nil.
        case close(UAPIError)
    }

    /// Big enough for `wg setconf` with tens of thousands of peers.
    public static let defaultLimit = 16 << 20

    public let limit: Int
    private var buffer: [UInt8] = []
    private var start = 0
    /// A line start inside the current `set` request where the search for its end resumes.
    private var resumeAt = 0
    private var ended = false
    private var closed = false

    public init(limit: Int = UAPIFramer.defaultLimit) {
        self.limit = max(limit, 7)
    }

    /// Bytes received and not yet handed out.
    public var bufferedByteCount: Int { buffer.count - start }

    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        guard !closed, !ended else { return }
        buffer.append(contentsOf: bytes)
    }

    public mutating func append(contentsOf bytes: some Sequence<UInt8>) {
        guard !closed, !ended else { return }
        buffer.append(contentsOf: bytes)
    }

    /// The client closed its end. wireguard-go still applies a `set` cut short by the end
    /// of the stream (and answers it), so `next()` hands that one out too.
    public mutating func finish() { ended = true }

    public mutating func next() -> Event? {
        guard !closed else { return nil }
        let pending = buffer.count - start
        let head = buffer[start..<start + min(pending, 6)]
        let isGet = UAPI.getLine.starts(with: head)
        guard isGet || UAPI.setLine.starts(with: head) else { return close(.invalidOperation) }
        guard pending >= (isGet ? 7 : 6) else {
            if ended { consume(upTo: buffer.count) }
            return nil
        }
        if isGet {
            let ok = buffer[start + 6] == UInt8(ascii: "\n")
            consume(upTo: start + 7)
            return ok ? .request(.get) : .reject(UAPIError(.trailingCharacterAfterGet, line: 2))
        }
        let bodyStart = start + 6
        let end = pending > limit ? start + limit : buffer.count
        switch UAPI.scan(buffer, lineStart: max(resumeAt, bodyStart), end: end) {
        case .found(let blankLine, let next):
            return set(body: bodyStart..<blankLine, next: next)
        case .partial(let lineStart):
            resumeAt = lineStart
            if pending >= limit { return close(.tooLarge(limit: limit)) }
            return ended ? set(body: bodyStart..<buffer.count, next: buffer.count) : nil
        }
    }

    private mutating func set(body: Range<Int>, next: Int) -> Event {
        let event: Event
        do {
            event = .request(.set(try UAPI.parseSetBody(buffer[body])))
        } catch {
            event = .reject(error)
        }
        consume(upTo: next)
        return event
    }

    private mutating func close(_ reason: UAPIError.Reason) -> Event {
        closed = true
        buffer = []
        start = 0
        return .close(UAPIError(reason))
    }

    private mutating func consume(upTo next: Int) {
        start = next
        resumeAt = 0
        if start == buffer.count {
            buffer.removeAll(keepingCapacity: buffer.count <= 1 << 16)
            start = 0
        } else if start >= 1 << 16 {
            buffer.removeSubrange(0..<start)
            start = 0
        }
    }
}

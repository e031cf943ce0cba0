import CFerryLinux
import Glibc
import WireGuard

/// Serves the UAPI socket: accepts connections on a thread of its own, gives each
/// connection a thread, cuts its byte stream into requests with the core's `UAPIFramer`,
/// hands each complete request to the handler and writes back its answer. Several
/// requests per connection; a request longer than `requestLimit` is answered with EIO and
/// ends the connection; an unknown operation ends it without an answer (as wireguard-go).
///
/// The handler runs for one request at a time, whatever the number of connections, so a
/// `set` is applied whole before the next request looks at the configuration.
///
/// If the socket file is removed (or replaced) while the server runs, `onSocketRemoved`
/// is called once: wireguard-go takes that as the signal to shut down.
public final class UAPIServer: @unchecked Sendable {
    /// Returns the complete answer: `UAPI.render(status)` for a get, `UAPI.response(error)`
    /// for a set.
    public typealias Handler = @Sendable (UAPIRequest) -> String

    public static let maxConnections = 32

    public let listener: UAPIListener
    public let requestLimit: Int
    private let handler: Handler
    private let onSocketRemoved: (@Sendable () -> Void)?
    private let handlerLock = ConditionLock()
    private let stopSignal: StopSignal
    private let state = ConditionLock()
    private var connections: [Int: IOThread] = [:]
    private var nextConnection = 0
    private var acceptThread: IOThread?
    private var removalReported = false

    public init(listener: UAPIListener, requestLimit: Int = UAPIFramer.defaultLimit,
                onSocketRemoved: (@Sendable () -> Void)? = nil, handler: @escaping Handler) throws(SystemError) {
        self.listener = listener
        self.requestLimit = requestLimit
        self.handler = handler
        self.onSocketRemoved = onSocketRemoved
        stopSignal = try StopSignal()
    }

    /// Starts accepting.
    public func start() throws(SystemError) {
        _ = fcntl(listener.descriptor, F_SETFL, fcntl(listener.descriptor, F_GETFL) | O_NONBLOCK)
        let watch = ferry_inotify_watch_file(listener.path)
        let thread: IOThread
        do {
            thread = try IOThread(name: "uapi-accept") { [self] in acceptLoop(watch: watch) }
        } catch {
            if watch >= 0 { Glibc.close(watch) }  // the loop that owns it never started
            throw error
        }
        state.withLock { acceptThread = thread }
    }

    /// Stops accepting, ends every connection (waiting for a running handler to return),
    /// closes the socket and removes its file. Idempotent; must not be called by the handler.
    public func stop() {
        stopSignal.stop()
        state.withLock { acceptThread }?.join()
        state.withLock { while !connections.isEmpty { state.wait() } }
        listener.close(removingFile: true)
    }

    /// Connections being served now.
    public var connectionCount: Int { state.withLock { connections.count } }

    private func acceptLoop(watch: Int32) {
        var watch = watch
        defer { closeDescriptor(watch) }
        while true {
            switch stopSignal.wait(readable: listener.descriptor, or: watch) {
            case .stopped, .timedOut:
                return
            case .ready(let fd) where fd == watch:
                ferry_inotify_drain(watch)
                if !listener.isFileStillOurs {
                    closeDescriptor(watch)
                    watch = -1
                    onSocketRemoved?()
                }
            case .ready:
                let connection = ferry_accept(listener.descriptor)
                if connection >= 0 {
                    admit(connection)
                } else if connection == -EMFILE || connection == -ENFILE {
                    // Out of descriptors: back off instead of spinning on a readable socket.
                    _ = stopSignal.sleep(until: .after(seconds: 0.1))
                }
            }
        }
    }

    private func admit(_ fd: Int32) {
        state.withLock {
            guard connections.count < UAPIServer.maxConnections, !stopSignal.isStopped else {
                closeDescriptor(fd)
                return
            }
            let id = nextConnection
            nextConnection += 1
            // Under the lock, so the thread cannot remove itself before it is recorded.
            do {
                connections[id] = try IOThread(name: "uapi-conn") { [self] in
                    serve(fd)
                    closeDescriptor(fd)
                    state.withLock {
                        connections[id] = nil
                        state.broadcast()
                    }
                }
            } catch {
                closeDescriptor(fd)
            }
        }
    }

    private func serve(_ fd: Int32) {
        var framer = UAPIFramer(limit: requestLimit)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 16, alignment: 1)
        defer { buffer.deallocate() }
        var ended = false
        while true {
            while let event = framer.next() {
                switch event {
                case .request(let request):
                    let answer = handlerLock.withLock { handler(request) }
                    guard send(answer, to: fd) else { return }
                case .reject(let error):
                    guard send(UAPI.response(error), to: fd) else { return }
                case .close(let error):
                    if case .tooLarge = error.reason { _ = send(UAPI.response(error), to: fd) }
                    return
                }
            }
            if ended { return }
            let n = recv(fd, buffer.baseAddress, buffer.count, 0)
            if n > 0 {
                framer.append(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
            } else if n == 0 {
                framer.finish()
                ended = true
            } else if errno == EAGAIN {
                if stopSignal.wait(readable: fd) == .stopped { return }
            } else if errno != EINTR {
                return
            }
        }
    }

    /// Writes all of `text`; false when the client is gone or the server stops.
    private func send(_ text: String, to fd: Int32) -> Bool {
        var text = text
        return text.withUTF8 { bytes in
            var offset = 0
            while offset < bytes.count {
                // MSG_NOSIGNAL: a client that hung up must not SIGPIPE the daemon.
                let n = Glibc.send(fd, bytes.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
                if n > 0 {
                    offset += n
                } else if n < 0, errno == EAGAIN {
                    if stopSignal.wait(writable: fd) == .stopped { return false }
                } else if n < 0, errno == EINTR {
                    continue
                } else {
                    return false
                }
            }
            return true
        }
    }
}

import CFerryLinux
import Glibc

/// A joinable POSIX thread with a name (visible in `ps -L`, `top -H`, gdb). The device
/// loop's readers and writers block in system calls, so they get threads of their own
/// rather than Swift concurrency's cooperative pool.
public final class IOThread: @unchecked Sendable {
    public let name: String
    private var thread: pthread_t?
    private let lock = ConditionLock()
    private var joined = false

    private final class Start {
        let name: String
        let body: () -> Void
        init(name: String, body: @escaping () -> Void) {
            self.name = name
            self.body = body
        }
    }

    /// Starts `body` on a new thread.
    public init(name: String, _ body: @escaping @Sendable () -> Void) throws(SystemError) {
        self.name = name
        let start = Unmanaged.passRetained(Start(name: name, body: body))
        var handle = pthread_t()
        let r = pthread_create(&handle, nil, { raw in
            let start = Unmanaged<Start>.fromOpaque(raw!).takeRetainedValue()
            start.name.withCString { ferry_thread_set_name($0) }
            start.body()
            return nil
        }, start.toOpaque())
        guard r == 0 else {
            start.release()
            throw SystemError("pthread_create", errno: r)
        }
        thread = handle
    }

    /// Waits for the thread to finish. Safe to call more than once and from several threads;
    /// must not be called from the thread itself.
    public func join() {
        lock.withLock {
            guard !joined, let thread else { return }
            pthread_join(thread, nil)
            joined = true
        }
    }

    deinit {
        // A thread nobody joined still runs to its end; detach it so it leaves no zombie.
        if !joined, let thread { pthread_detach(thread) }
    }
}

import CFerryLinux
import Glibc

/// The listening UAPI socket, `/var/run/wireguard/IFNAME.sock`, opened as wireguard-go
/// does (ipc/uapi_unix.go): the directory is created with mode 0755, the socket file has
/// mode 0700 (only root may talk to the daemon), a socket a live daemon answers on is
/// refused ("socket in use"), and a stale one left by a daemon that died is replaced.
public final class UAPIListener: @unchecked Sendable {
    public static let defaultDirectory = "/var/run/wireguard"

    public let path: String
    /// The listening descriptor, for handing to a re-executed daemon (`WG_UAPI_FD`).
    public let descriptor: Int32
    private let identity: FileIdentity?
    private let lock = ConditionLock()
    private var closed = false

    public static func socketPath(interface: String, directory: String = defaultDirectory) -> String {
        "\(directory)/\(interface).sock"
    }

    /// Opens the socket for `interface` in `directory`.
    public static func open(interface: String, directory: String = defaultDirectory) throws(UAPIListenerError) -> UAPIListener {
        try makeDirectory(directory)
        return try open(path: socketPath(interface: interface, directory: directory))
    }

    /// Opens a socket at `path` (its directory must exist).
    public static func open(path: String) throws(UAPIListenerError) -> UAPIListener {
        var fd = ferry_unix_listen(path, 0o700, 128)
        if fd == -EADDRINUSE {
            try removeIfStale(path)
            fd = ferry_unix_listen(path, 0o700, 128)
        }
        guard fd >= 0 else {
            if fd == -EADDRINUSE { throw .socketInUse(path) }  // someone else raced us
            throw .system(SystemError("listen on \(path)", result: fd))
        }
        return UAPIListener(adopting: fd, path: path)
    }

    /// Takes over a listening descriptor (the re-executed daemon gets one in `WG_UAPI_FD`).
    public init(adopting descriptor: Int32, path: String) {
        self.descriptor = descriptor
        self.path = path
        identity = UAPIListener.fileIdentity(path)
        _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC)
    }

    deinit { close(removingFile: false) }

    /// Closes the socket and, normally, removes its file (as wireguard-go's
    /// `SetUnlinkOnClose`). Idempotent.
    public func close(removingFile: Bool = true) {
        let first = lock.withLock { () -> Bool in
            defer { closed = true }
            return !closed
        }
        guard first else { return }
        if removingFile, isFileStillOurs { unlink(path) }
        closeDescriptor(descriptor)
    }

    /// Whether the file at `path` is still the one we bound (not replaced by another daemon
    /// after someone removed ours).
    var isFileStillOurs: Bool {
        guard let identity, let now = UAPIListener.fileIdentity(path) else { return false }
        return now == identity
    }

    private static func fileIdentity(_ path: String) -> FileIdentity? {
        var st = stat()
        guard lstat(path, &st) == 0, st.st_mode & S_IFMT == S_IFSOCK else { return nil }
        return FileIdentity(device: UInt64(st.st_dev), inode: UInt64(st.st_ino))
    }

    private struct FileIdentity: Equatable {
        var device: UInt64
        var inode: UInt64
    }

    private static func makeDirectory(_ directory: String) throws(UAPIListenerError) {
        var partial = directory.hasPrefix("/") ? "" : "."
        for component in directory.split(separator: "/") {
            partial += "/\(component)"
            if mkdir(partial, 0o755) != 0, errno != EEXIST {
                throw .system(SystemError("mkdir \(partial)", errno: errno))
            }
        }
    }

    /// A socket nobody accepts on is left over by a daemon that died: remove it. A live one,
    /// or a file that is not a socket, stays and is an error.
    private static func removeIfStale(_ path: String) throws(UAPIListenerError) {
        var st = stat()
        guard lstat(path, &st) == 0 else { return }  // gone meanwhile: just retry
        guard st.st_mode & S_IFMT == S_IFSOCK else { throw .notASocket(path) }
        let probe = ferry_unix_connect(path)
        if probe >= 0 {
            closeDescriptor(probe)
            throw .socketInUse(path)
        }
        guard probe == -ECONNREFUSED || probe == -ENOENT else { throw .system(SystemError("connect to \(path)", result: probe)) }
        if unlink(path) != 0, errno != ENOENT { throw .system(SystemError("remove stale \(path)", errno: errno)) }
    }
}

public enum UAPIListenerError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Another daemon answers on this socket: the interface is taken.
    case socketInUse(String)
    /// Something that is not a socket has the socket's path.
    case notASocket(String)
    case system(SystemError)

    public var description: String {
        switch self {
        case .socketInUse(let path): "UAPI socket \(path) is in use by a running daemon"
        case .notASocket(let path): "\(path) exists and is not a socket"
        case .system(let error): "UAPI socket: \(error)"
        }
    }
}

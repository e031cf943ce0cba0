import FerryCore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Files that are never seen half-written: the bytes go to a temporary file in the same
/// folder (created with its final mode, so a key is never readable by others, not even
/// for a moment), which is flushed to disk and renamed over the target; then the folder
/// is flushed so the rename survives a crash.
public enum AtomicWrite {
    public static func write(_ bytes: some Collection<UInt8>, to path: String, mode: mode_t = 0o600) throws(AtomicWriteError) {
        // A bare file name ("key") has no folder part: it lives in the current folder.
        let parent = (path as NSString).deletingLastPathComponent
        let directory = parent.isEmpty ? "." : parent
        let temporary = "\(directory)/.\((path as NSString).lastPathComponent).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw AtomicWriteError("cannot write \(path): \(errnoText())") }
        var ok = fchmod(fd, mode) == 0
        let data = Array(bytes)
        var written = 0
        while ok, written < data.count {
            let n = data.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + written, $0.count - written) }
            if n > 0 { written += n } else if n < 0, errno == EINTR { continue } else { ok = false }
        }
        let why = errnoText()
        ok = ok && fsync(fd) == 0
        close(fd)
        guard ok, rename(temporary, path) == 0 else {
            unlink(temporary)
            throw AtomicWriteError("cannot write \(path): \(why)")
        }
        syncDirectory(directory)
    }

    public static func write(_ text: String, to path: String, mode: mode_t = 0o600) throws(AtomicWriteError) {
        try write(Array(text.utf8), to: path, mode: mode)
    }

    /// Creates the folder (and its parents) with `mode`, or tightens an existing one to it.
    public static func makeDirectory(_ path: String, mode: mode_t = 0o700) throws(AtomicWriteError) {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else { throw AtomicWriteError("\(path) exists and is not a folder; give another folder") }
        } else {
            do {
                try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true,
                                                        attributes: [.posixPermissions: Int(mode)])
            } catch {
                throw AtomicWriteError("cannot create the folder \(path): \(error.localizedDescription)")
            }
        }
        guard chmod(path, mode) == 0 else { throw AtomicWriteError("cannot set the mode of \(path): \(errnoText())") }
    }

    static func syncDirectory(_ path: String) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd >= 0 { fsync(fd); close(fd) }
    }

    static func errnoText() -> String { String(cString: strerror(errno)) }
}

/// Why a file or folder could not be written; the message names the path.
public struct AtomicWriteError: Error, CustomStringConvertible, Sendable {
    public let description: String
    init(_ description: String) { self.description = description }
}

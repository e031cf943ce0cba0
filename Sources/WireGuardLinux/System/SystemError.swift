import Glibc

/// A failed system call: what was attempted and the errno it gave.
public struct SystemError: Error, Equatable, Sendable, CustomStringConvertible {
    public var operation: String
    public var errno: Int32

    public init(_ operation: String, errno: Int32) {
        self.operation = operation
        self.errno = errno
    }

    /// From a shim result: `-errno`.
    init(_ operation: String, result: Int32) {
        self.init(operation, errno: -result)
    }

    public var description: String { "\(operation): \(SystemError.message(errno)) (errno \(errno))" }

    /// strerror's text, without touching the shared static buffer strerror uses.
    public static func message(_ code: Int32) -> String {
        var buffer = [CChar](repeating: 0, count: 128)
        // The XSI strerror_r is what Swift's Glibc imports: it fills the buffer.
        _ = strerror_r(code, &buffer, buffer.count)
        let text = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return text.isEmpty ? "error \(code)" : text
    }
}

/// Closes a descriptor, retrying nothing: on Linux a close interrupted by a signal has
/// still released the descriptor.
@inline(__always) func closeDescriptor(_ fd: Int32) {
    if fd >= 0 { _ = Glibc.close(fd) }
}

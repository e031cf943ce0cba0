/// An error the `ferry` command reports as one line saying what went wrong and what to do,
/// with an exit code from a small documented set (docs/ferry.md).
public struct FerryError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Exit codes of `ferry`. ArgumentParser's usage errors exit 64.
    public enum Kind: Int32, Sendable {
        /// Anything else: a local command failed, a file could not be written.
        case failure = 1
        /// No enrolment state, or a state file that cannot be read.
        case state = 3
        /// The coordinator could not be reached (connection, TLS, timeout).
        case unreachable = 4
        /// The coordinator refused the token (401) or the token may not do this (403).
        case unauthorized = 5
        /// A named object does not exist (404).
        case notFound = 6
        /// The coordinator refused the request (400, 409).
        case rejected = 7
        /// This machine's peer was removed from the network (deleted, or its TTL ran out):
        /// its device token will never work again. The agent takes the interface down.
        case removed = 8
    }

    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var exitCode: Int32 { kind.rawValue }
    public var description: String { message }

    public static func failure(_ message: String) -> FerryError { FerryError(.failure, message) }
    public static func state(_ message: String) -> FerryError { FerryError(.state, message) }
}

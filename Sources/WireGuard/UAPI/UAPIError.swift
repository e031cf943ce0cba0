/// Linux errno numbers the UAPI answers with. wireguard-go (ipc/uapi_unix.go) writes them
/// negated: `errno=-22` for EINVAL; `wg` turns that back into the positive errno.
public enum UAPIErrno {
    public static let io: Int32 = 5            // EIO: wireguard-go IpcErrorIO
    public static let invalid: Int32 = 22      // EINVAL: IpcErrorInvalid
    public static let unknown: Int32 = 55      // ENOANO: IpcErrorUnknown
    public static let protocolError: Int32 = 71 // EPROTO: IpcErrorProtocol
    public static let addressInUse: Int32 = 98 // EADDRINUSE: IpcErrorPortInUse (listen_port, fwmark)
}

/// Why a UAPI request or response was refused, with the errno to answer.
///
/// The errno follows wireguard-go's device/uapi.go: a line without `=` is EPROTO; every
/// bad value and every key that is unknown or in the wrong section is EINVAL.
public struct UAPIError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Reason: Hashable, Sendable {
        /// The first line is neither `get=1` nor `set=1`. wireguard-go closes the
        /// connection without answering.
        case invalidOperation
        /// `get=1` followed by something other than the empty line (EINVAL).
        case trailingCharacterAfterGet
        /// A line without `=` (EPROTO).
        case missingEquals
        /// A key that is not a device key, before the first `public_key` (EINVAL). Peer keys
        /// given before any `public_key` land here, as in wireguard-go.
        case unknownDeviceKey(String)
        /// A key that is not a peer key, after a `public_key` (EINVAL).
        case unknownPeerKey(String)
        /// A known key with a value that does not parse or is out of range (EINVAL).
        case invalidValue(key: String)
        /// The text ends before the empty line that ends a message (EPROTO).
        case incomplete
        /// Bytes after the empty line that ends the message (EPROTO).
        case trailingData
        /// A request longer than the framer's limit (EIO, as wireguard-go answers a line
        /// longer than its scanner buffer).
        case tooLarge(limit: Int)
        /// Client side: a key the answer may not carry at that place (EPROTO).
        case unexpectedKey(String)
        /// Client side: the daemon answered `errno=N` with N ≠ 0 (N as written).
        case daemonError(Int64)
    }

    public let reason: Reason
    /// 1-based line number in the message, 0 when the error is not about one line.
    public let line: Int

    public init(_ reason: Reason, line: Int = 0) {
        self.reason = reason
        self.line = line
    }

    /// The positive errno (EINVAL is 22); the wire carries its negation.
    public var errno: Int32 {
        switch reason {
        case .invalidOperation, .missingEquals, .incomplete, .trailingData, .unexpectedKey: UAPIErrno.protocolError
        case .trailingCharacterAfterGet, .unknownDeviceKey, .unknownPeerKey, .invalidValue: UAPIErrno.invalid
        case .tooLarge: UAPIErrno.io
        case .daemonError(let n): Int32(clamping: n.magnitude)
        }
    }

    public var description: String {
        let at = line > 0 ? "line \(line): " : ""
        switch reason {
        case .invalidOperation: return "\(at)invalid UAPI operation (expected get=1 or set=1)"
        case .trailingCharacterAfterGet: return "\(at)trailing character in UAPI get"
        case .missingEquals: return "\(at)line is not key=value"
        case .unknownDeviceKey(let k):
            let hint = UAPIKey.peerKeys.contains(k) ? " (peer keys must follow a public_key)" : ""
            return "\(at)invalid UAPI device key: \(k)\(hint)"
        case .unknownPeerKey(let k): return "\(at)invalid UAPI peer key: \(k)"
        case .invalidValue(let k): return "\(at)invalid value for \(k)"
        case .incomplete: return "\(at)message does not end with an empty line"
        case .trailingData: return "\(at)data after the empty line that ends the message"
        case .tooLarge(let limit): return "UAPI request longer than \(limit) bytes"
        case .unexpectedKey(let k): return "\(at)unexpected key in answer: \(k)"
        case .daemonError(let n): return "daemon answered errno=\(n)"
        }
    }
}

import Glibc
import WireGuard

/// The daemon's log, in wireguard-go's shape (`LEVEL: (ifname) 2006/01/02 15:04:05 text`)
/// on standard error. `LOG_LEVEL` picks `error` (the default) or `verbose`; `silent` is
/// quiet. Keys are never logged: peers are shown as `peer(AbCd…WxYz)` like wireguard-go.
public struct DeviceLog: Sendable {
    public enum Level: Int, Comparable, Sendable {
        case silent, error, verbose
        public static func < (a: Level, b: Level) -> Bool { a.rawValue < b.rawValue }

        /// LOG_LEVEL's values as wireguard-go reads them (`debug` means verbose).
        public init(environment value: String?) {
            switch value?.lowercased() {
            case "verbose", "debug": self = .verbose
            case "silent": self = .silent
            default: self = .error
            }
        }
    }

    public let level: Level
    public let interface: String

    public init(level: Level, interface: String) {
        self.level = level
        self.interface = interface
    }

    public func error(_ message: @autoclosure () -> String) {
        if level >= .error { write("ERROR", message()) }
    }

    public func verbose(_ message: @autoclosure () -> String) {
        if level >= .verbose { write("DEBUG", message()) }
    }

    private func write(_ tag: String, _ message: String) {
        var now = time(nil)
        var parts = tm()
        localtime_r(&now, &parts)
        let stamp = "\(parts.tm_year + 1900)/" + pad(parts.tm_mon + 1) + "/" + pad(parts.tm_mday) + " "
            + pad(parts.tm_hour) + ":" + pad(parts.tm_min) + ":" + pad(parts.tm_sec)
        let line = "\(tag): (\(interface)) \(stamp) \(message)\n"
        // One write(2) per line, so lines from different threads do not interleave.
        var bytes = Array(line.utf8)
        bytes.withUnsafeMutableBytes { _ = Glibc.write(2, $0.baseAddress, $0.count) }
    }

    private func pad(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
}

extension PublicKey {
    /// wireguard-go's short form for logs: the first and last four base64 characters.
    public var logName: String {
        let b = base64
        return "peer(\(b.prefix(4))…\(b.dropLast().suffix(4)))"
    }
}

import Foundation

/// Output of the `ferry` commands: results on standard output, progress and errors on
/// standard error (so `ferry ... --json | jq` stays clean), written at once.
public enum Console {
    public static func out(_ s: String, terminator: String = "\n") {
        FileHandle.standardOutput.write(Data((s + terminator).utf8))
    }

    public static func error(_ s: String) {
        FileHandle.standardError.write(Data(("ferry: " + s + "\n").utf8))
    }

    /// A progress or log line: `ferry: ...` on standard error, with the time when
    /// `timestamps` is on (the agent's log).
    public static func progress(_ s: String, timestamps: Bool = false) {
        let prefix = timestamps ? "\(Self.timestamp()) ferry: " : "ferry: "
        FileHandle.standardError.write(Data((prefix + s + "\n").utf8))
    }

    static func timestamp() -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.dateFormat = "yyyy-MM-dd'T'HH:mm:ss.SSSZ"
        return f.string(from: Date())
    }

    /// Encodes `value` as pretty JSON (sorted keys, ISO 8601 dates) on standard output.
    public static func json(_ value: some Encodable) throws(FerryError) {
        let e = JSONEncoder()
        e.dateEncodingStrategy = .iso8601
        e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        do { out(String(decoding: try e.encode(value), as: UTF8.self)) } catch { throw .failure("cannot encode JSON: \(error)") }
    }
}

public enum FerryAgentInfo {
    public static let version = "0.1.0"
}

import Foundation

/// wg-quick runs PreUp, PostUp, PreDown and PostDown as root shell commands. A config that
/// came from the coordinator must not bring commands with it unless the person running it
/// asked for them: a coordinator (or anyone who took it over) would otherwise run code as
/// root on every client.
public enum WGQuickHooks {
    static let keys: Set<String> = ["preup", "postup", "predown", "postdown"]

    /// The text without hook lines, and the lines it dropped. Keys are matched as wg-quick
    /// matches them: case-insensitively, spaces around `=` ignored.
    public static func strip(_ text: String) -> (text: String, dropped: [String]) {
        var kept: [Substring] = [], dropped: [String] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let key = line.split(separator: "=", maxSplits: 1).first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
            if line.contains("="), keys.contains(key) { dropped.append(String(line)) } else { kept.append(line) }
        }
        return (kept.joined(separator: "\n"), dropped)
    }
}

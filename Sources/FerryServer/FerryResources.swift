import Foundation

/// Where ferryd's resource files (openapi.yaml, the portal's CSS and scripts) are found,
/// without SwiftPM's `Bundle.module`, which stops the process with a fatal error when its
/// bundle is not beside the binary: an installed ferryd copied alone must still start.
/// Looked for, in order: `$FERRY_RESOURCES`; `Ferry_FerryServer.resources` beside the
/// executable (as SwiftPM builds and the container image ships it);
/// /usr/local/share/ferry and /usr/share/ferry; the source tree this was built from.
enum FerryResources {
    static let bundleName = "Ferry_FerryServer.resources"

    static var candidates: [URL] {
        var out: [URL] = []
        if let env = ProcessInfo.processInfo.environment["FERRY_RESOURCES"], !env.isEmpty {
            out.append(URL(fileURLWithPath: env))
        }
        let exe = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
        out.append(exe.appendingPathComponent(bundleName))
        out.append(Bundle.main.bundleURL.appendingPathComponent(bundleName))
        out.append(URL(fileURLWithPath: "/usr/local/share/ferry"))
        out.append(URL(fileURLWithPath: "/usr/share/ferry"))
        out.append(URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Resources"))
        return out
    }

    /// The first folder that holds openapi.yaml, or nil (the caller says what is missing).
    static let root: URL? = candidates.first {
        FileManager.default.fileExists(atPath: $0.appendingPathComponent("openapi.yaml").path)
    }

    /// One resource's URL, or nil.
    static func url(_ name: String) -> URL? {
        guard let root else { return nil }
        let url = root.appendingPathComponent(name)
        return FileManager.default.fileExists(atPath: url.path) ? url : nil
    }

    /// Where it looked, for an error message.
    static var searched: String { candidates.map(\.path).joined(separator: ", ") }
}

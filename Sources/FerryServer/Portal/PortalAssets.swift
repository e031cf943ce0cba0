import Foundation
import Hummingbird

/// The portal's stylesheet and scripts, shipped as SwiftPM resources next to ferryd
/// (`Ferry_FerryServer.resources/portal`, like openapi.yaml; found by FerryResources) and read once at start. Only
/// `portal/*.css` and `portal/js/*.js` are served: nothing else in the folder is reachable.
struct PortalAssets: Sendable {
    let files: [String: (type: String, body: Data)]

    static func load() -> PortalAssets {
        guard let root = FerryResources.url("portal") else { return PortalAssets(files: [:]) }
        var files: [String: (String, Data)] = [:]
        for (folder, ext, type) in [("", "css", "text/css; charset=utf-8"), ("js/", "js", "text/javascript; charset=utf-8")] {
            let dir = folder.isEmpty ? root : root.appendingPathComponent(folder)
            for name in (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? [] where name.hasSuffix("." + ext) {
                if let data = FileManager.default.contents(atPath: dir.appendingPathComponent(name).path) { files[folder + name] = (type, data) }
            }
        }
        return PortalAssets(files: files)
    }

    func response(_ path: String) -> Response {
        guard let f = files[path] else { return PortalHTTP.secure(Response(status: .notFound)) }
        return PortalHTTP.secure(Response(status: .ok, headers: [.contentType: f.type, .cacheControl: "no-cache"],
                                          body: .init(byteBuffer: ByteBuffer(bytes: f.body))))
    }
}

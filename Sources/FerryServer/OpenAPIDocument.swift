import Foundation

/// The OpenAPI document served at /openapi.yaml. One file: this target's resource
/// Resources/openapi.yaml, which docs/openapi.yaml links to (a test checks that every route
/// is in it and that the served text is that file).
public enum OpenAPIDocument {
    public static let text: String = {
        guard let url = FerryResources.url("openapi.yaml"),
              let s = try? String(contentsOf: url, encoding: .utf8) else { return "openapi: 3.1.0\n" }
        return s
    }()
}

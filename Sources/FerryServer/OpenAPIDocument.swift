import Foundation

/// The OpenAPI document served at /openapi.yaml: the repository keeps it as
/// docs/openapi.yaml, copied into this target's resources (a test checks they are equal
/// and that every route is in it).
public enum OpenAPIDocument {
    public static let text: String = {
        guard let url = Bundle.module.url(forResource: "openapi", withExtension: "yaml"),
              let s = try? String(contentsOf: url, encoding: .utf8) else { return "openapi: 3.1.0\n" }
        return s
    }()
}

import FerryCore
import Foundation

/// Where a CI job's OpenID Connect ID token comes from, in this order: a file
/// (`--oidc-token-file`), an environment variable the job's configuration fills (GitLab's
/// `id_tokens:`, FERRY_ID_TOKEN by default), or GitHub Actions' token request service
/// (ACTIONS_ID_TOKEN_REQUEST_URL and _TOKEN, present with `permissions: id-token: write`).
public enum CIIDToken {
    public static func obtain(file: String?, variable: String, audience: String,
                              environment env: [String: String]) async throws(FerryError) -> String {
        if let file {
            guard let data = FileManager.default.contents(atPath: file) else {
                throw FerryError(.failure, "--oidc-token-file \(file) cannot be read")
            }
            return try wellFormed(String(decoding: data, as: UTF8.self), from: file)
        }
        if let v = env[variable], !v.isEmpty { return try wellFormed(v, from: "$\(variable)") }
        if let url = env["ACTIONS_ID_TOKEN_REQUEST_URL"], let bearer = env["ACTIONS_ID_TOKEN_REQUEST_TOKEN"], !url.isEmpty {
            var allowed = CharacterSet.alphanumerics
            allowed.insert(charactersIn: "-._~")
            let aud = audience.addingPercentEncoding(withAllowedCharacters: allowed) ?? audience
            let full = url + (url.contains("?") ? "&" : "?") + "audience=\(aud)"
            let (status, body) = try await IdentityHTTP.request(.GET, full, headers: [("Authorization", "Bearer \(bearer)")],
                                                                what: "GitHub Actions' ID token request")
            guard status == 200, let value = IdentityHTTP.json(body)?.string("value") else {
                throw FerryError(.unauthorized, "GitHub Actions refused the ID token request (HTTP \(status)); does the job have 'permissions: id-token: write'?")
            }
            return try wellFormed(value, from: "GitHub Actions")
        }
        throw FerryError(.unauthorized, "no ID token: give --oidc-token-file, set $\(variable) (GitLab: id_tokens), or run in GitHub Actions with 'permissions: id-token: write'")
    }

    static func wellFormed(_ s: String, from source: String) throws(FerryError) -> String {
        let t = s.trimmingCharacters(in: .whitespacesAndNewlines)
        guard t.split(separator: ".", omittingEmptySubsequences: false).count == 3, t.utf8.count < 16 * 1024 else {
            throw FerryError(.failure, "the ID token from \(source) is not a JWT")
        }
        return t
    }
}

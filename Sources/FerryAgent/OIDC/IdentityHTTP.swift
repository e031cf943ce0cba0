import FerryCore
import Foundation
import NIOHTTP1

/// Requests to an identity provider or a CI system's token service (not the coordinator):
/// the system's trust store, one request per connection, a short timeout.
enum IdentityHTTP {
    static func request(_ method: HTTPMethod, _ urlText: String, headers: [(String, String)] = [], body: Data? = nil,
                        what: String) async throws(FerryError) -> (status: Int, body: Data) {
        guard let url = URL(string: urlText), let scheme = url.scheme, ["http", "https"].contains(scheme), url.host != nil else {
            throw FerryError(.failure, "\(what): '\(urlText)' is not an http(s) URL")
        }
        var target = url.path.isEmpty ? "/" : url.path
        if let q = url.query { target += "?" + q }
        do {
            let t = try HTTPTransport(url: url, pinnedFingerprint: nil)
            return try await t.exchange(method: method, target: target, headers: [("Accept", "application/json")] + headers,
                                        body: body, timeout: .seconds(15))
        } catch {
            throw FerryError(.unreachable, "\(what): cannot reach \(url.host ?? urlText) (\(error))")
        }
    }

    static func json(_ data: Data) -> [String: JSONValue]? {
        if case .object(let o)? = try? JSONDecoder().decode(JSONValue.self, from: data) { return o }
        return nil
    }

    static func form(_ fields: [(String, String)]) -> Data {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return Data(fields.map { "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: allowed) ?? $0.1)" }
            .joined(separator: "&").utf8)
    }
}

extension Dictionary where Key == String, Value == JSONValue {
    func string(_ k: String) -> String? { if case .string(let s)? = self[k] { return s } else { return nil } }
    func int(_ k: String) -> Int? { if case .number(let n)? = self[k], n.isFinite, abs(n) < 1e9 { return Int(n) } else { return nil } }
}

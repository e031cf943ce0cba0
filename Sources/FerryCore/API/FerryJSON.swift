import Foundation

/// A request body type whose fields are known, so unknown ones can be refused.
public protocol StrictDecodable: Decodable {
    associatedtype CodingKeys: CodingKey & CaseIterable
}

/// The JSON conventions of the API: ISO 8601 dates, sorted keys, strict request decoding.
public enum FerryJSON {
    public static func encoder() -> JSONEncoder {
        let e = JSONEncoder()
        e.dateEncodingStrategy = .iso8601
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return e
    }

    public static func decoder() -> JSONDecoder {
        let d = JSONDecoder()
        d.dateDecodingStrategy = .iso8601
        return d
    }

    /// Decodes a request body: it must be one JSON object with no fields but `T`'s; errors
    /// name the field.
    public static func decodeStrict<T: StrictDecodable>(_ type: T.Type, from data: Data) throws(APIError) -> T {
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: data.isEmpty ? Data("{}".utf8) : data, options: [.fragmentsAllowed])
        } catch {
            throw .badRequest("invalid_json", "body is not valid JSON")
        }
        guard let dict = object as? [String: Any] else { throw .badRequest("invalid_json", "body must be a JSON object") }
        let known = Set(T.CodingKeys.allCases.map(\.stringValue))
        if let unknown = dict.keys.sorted().first(where: { !known.contains($0) }) { throw .unknownField(unknown) }
        // No field is nullable: null would be read as "absent", which is not what was sent.
        if let null = dict.keys.sorted().first(where: { dict[$0] is NSNull }) { throw .invalid(null, "null is not allowed; leave the field out") }
        if let twice = JSONDuplicateKeys.first(in: Array(data)) { throw .invalid(twice, "given twice; give each field once") }
        do {
            return try decoder().decode(T.self, from: data.isEmpty ? Data("{}".utf8) : data)
        } catch let DecodingError.keyNotFound(key, ctx) {
            throw .missing(path(ctx.codingPath + [key]))
        } catch let DecodingError.typeMismatch(t, ctx) {
            throw .invalid(path(ctx.codingPath), "expected \(describe(t))")
        } catch let DecodingError.valueNotFound(t, ctx) {
            throw .invalid(path(ctx.codingPath), "expected \(describe(t)), got null")
        } catch let DecodingError.dataCorrupted(ctx) {
            throw .invalid(path(ctx.codingPath), ctx.debugDescription)
        } catch {
            throw .badRequest("invalid_json", "body could not be decoded")
        }
    }

    static func path(_ keys: [any CodingKey]) -> String {
        var out = ""
        for k in keys {
            if let i = k.intValue { out += "[\(i)]" } else { out += out.isEmpty ? k.stringValue : ".\(k.stringValue)" }
        }
        return out.isEmpty ? "body" : out
    }

    static func describe(_ t: Any.Type) -> String {
        switch t {
        case is String.Type: return "a string"
        case is Bool.Type: return "a boolean"
        case is Int.Type, is Int64.Type, is UInt16.Type: return "an integer"
        case is [String].Type: return "an array of strings"
        default: return "\(t)"
        }
    }
}

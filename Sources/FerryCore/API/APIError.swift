/// An error as the API reports it: `{"error": {"code", "message", "field"}}` with an HTTP
/// status. `field` names the offending request field when there is one.
public struct APIError: Error, Sendable, Equatable, CustomStringConvertible {
    public var status: Int
    public var code: String
    public var message: String
    public var field: String?

    public init(status: Int, code: String, message: String, field: String? = nil) {
        self.status = status
        self.code = code
        self.message = message
        self.field = field
    }

    public var description: String { "\(status) \(code): \(message)" }

    public static func invalid(_ field: String, _ message: String) -> APIError {
        APIError(status: 400, code: "invalid_field", message: "\(field): \(message)", field: field)
    }
    public static func missing(_ field: String) -> APIError {
        APIError(status: 400, code: "missing_field", message: "\(field): required", field: field)
    }
    public static func unknownField(_ field: String) -> APIError {
        APIError(status: 400, code: "unknown_field", message: "\(field): unknown field", field: field)
    }
    public static func conflict(_ field: String, _ message: String) -> APIError {
        APIError(status: 409, code: "conflict", message: "\(field): \(message)", field: field)
    }
    public static func exhausted(_ field: String, _ message: String) -> APIError {
        APIError(status: 409, code: "pool_exhausted", message: "\(field): \(message)", field: field)
    }
    public static func notFound(_ what: String) -> APIError {
        APIError(status: 404, code: "not_found", message: "\(what) not found")
    }
    public static func unauthorized(_ message: String) -> APIError {
        APIError(status: 401, code: "unauthorized", message: message)
    }
    public static func forbidden(_ message: String, field: String? = nil) -> APIError {
        APIError(status: 403, code: "forbidden", message: message, field: field)
    }
    public static func badRequest(_ code: String, _ message: String) -> APIError {
        APIError(status: 400, code: code, message: message)
    }
}

/// The JSON body of an error response.
public struct ErrorBody: Codable, Sendable, Equatable {
    public struct Detail: Codable, Sendable, Equatable {
        public var code: String
        public var message: String
        public var field: String?
    }
    public var error: Detail

    public init(_ e: APIError) { error = Detail(code: e.code, message: e.message, field: e.field) }
}

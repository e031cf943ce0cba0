import FerryCore
import Foundation

extension CoordinatorClient {
    public func trustRules() async throws(FerryError) -> [TrustRuleView] {
        try await call(.GET, "/v1/ci/trust", as: ListResponse<TrustRuleView>.self).items
    }

    public func createTrustRule(_ r: CreateTrustRuleRequest) async throws(FerryError) -> TrustRuleView {
        try await call(.POST, "/v1/ci/trust", body: r)
    }

    public func deleteTrustRule(id: String) async throws(FerryError) {
        do throws(FerryError) { try await send(.DELETE, "/v1/ci/trust/\(Self.escape(id))") } catch where error.kind == .notFound {
            throw FerryError(.notFound, "no trust rule '\(id)'; 'ferry ci trust ls' lists them")
        }
    }

    /// Posts an ID token (no bearer token: the ID token is the credential); a refusal comes
    /// back as the coordinator's own reason (expired, replayed, which claim did not match).
    func postIDToken<R: Decodable>(_ path: String, _ body: some Encodable, as: R.Type, what: String) async throws(FerryError) -> R {
        let (status, data) = try await exchange(.POST, path, body: try Self.encode(body))
        if status == 401 || status == 403 {
            let message = (try? JSONDecoder().decode(ErrorBody.self, from: data))?.error.message ?? "HTTP \(status)"
            throw FerryError(.unauthorized, "the coordinator refused the ID token: \(message)")
        }
        try Self.check(status, data)
        do { return try FerryJSON.decoder().decode(R.self, from: data) } catch {
            throw .failure("the coordinator's answer to \(what) could not be read (\(error))")
        }
    }

    public func oidcExchange(_ r: OIDCExchangeRequest) async throws(FerryError) -> OIDCExchangeResponse {
        try await postIDToken("/v1/ci/oidc", r, as: OIDCExchangeResponse.self, what: "the OIDC exchange")
    }
}

extension CoordinatorClient {
    /// The coordinator's identity provider for `ferry login`.
    public func loginInfo() async throws(FerryError) -> LoginInfo {
        do throws(FerryError) { return try await call(.GET, "/v1/login") } catch where error.kind == .notFound {
            throw FerryError(.notFound, "\(baseURL) offers no login (ferryd runs without --login-issuer); ask your admin for an enrolment token")
        }
    }

    public func login(_ r: LoginRequest) async throws(FerryError) -> EnrollResponse {
        try await postIDToken("/v1/login", r, as: EnrollResponse.self, what: "the login")
    }
}

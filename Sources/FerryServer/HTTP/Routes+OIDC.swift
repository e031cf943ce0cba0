import FerryCore
import Foundation
import Hummingbird

extension RouteTable {
    /// CI trust rules (admin) and the exchange of a job's ID token for an ephemeral peer
    /// (no bearer token: the ID token is the credential).
    func registerOIDC(store: FerryStore, verifier: OIDCVerifier) {
        add(.get, "/v1/ci/trust", scopes: Scopes.readers) { _, _, _ in try HTTP.json(ListResponse(items: try await store.trustRules())) }
        add(.post, "/v1/ci/trust", scopes: Scopes.admin) { req, ctx, caller in
            try HTTP.json(try await store.createTrustRule(try await HTTP.body(CreateTrustRuleRequest.self, req, ctx), caller: caller),
                          status: .created)
        }
        add(.delete, "/v1/ci/trust/{id}", scopes: Scopes.admin) { _, ctx, caller in
            try await store.deleteTrustRule(id: try HTTP.id(ctx), caller: caller)
            return HTTP.empty()
        }
        add(.post, "/v1/ci/oidc", scopes: nil) { req, ctx, _ in
            try HTTP.json(try await store.exchange(try await HTTP.body(OIDCExchangeRequest.self, req, ctx), verifier: verifier),
                          status: .created)
        }
    }
}

extension RouteTable {
    /// `ferry login`: where to log in (no token), and the ID token for an enrolment.
    func registerLogin(store: FerryStore, verifier: OIDCVerifier, config: LoginConfiguration?) {
        add(.get, "/v1/login", scopes: nil) { _, _, _ in
            guard let config else { throw APIError.notFound("login: this coordinator has no identity provider (ferryd --login-issuer)") }
            return try HTTP.json(config.info)
        }
        add(.post, "/v1/login", scopes: nil) { req, ctx, _ in
            guard let config else { throw APIError.notFound("login: this coordinator has no identity provider (ferryd --login-issuer)") }
            return try HTTP.json(try await store.login(try await HTTP.body(LoginRequest.self, req, ctx), config: config, verifier: verifier),
                                 status: .created)
        }
    }
}

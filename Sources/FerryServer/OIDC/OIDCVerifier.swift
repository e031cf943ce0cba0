import FerryCore
import Foundation

/// Verifies OpenID Connect ID tokens from trusted issuers: signature against the issuer's
/// JWKS (found through discovery, cached), then `exp`, `nbf` and `iat` with a small leeway.
/// Audience and claim rules are the caller's (CI trust rules, the portal's login).
///
/// The JWKS is refetched when a token names a key id the cache lacks (how rotation is picked
/// up without a restart) and when the cache is older than `maxAge`, but never more than once
/// per `refetchInterval` per issuer, and concurrent requests share one fetch: a flood of
/// tokens with made-up key ids costs the issuer one request per interval at most. Only
/// issuers the caller trusts are ever fetched, so a token cannot point ferryd anywhere.
public actor OIDCVerifier {
    public static let accepted: Set<String> = ["RS256", "ES256"]

    struct IssuerKeys {
        var jwksURI: URL?
        var keys = JWKSet()
        var fetchedAt: ContinuousClock.Instant?
        var inflight: Task<Void, Never>?
    }

    let fetcher: any OIDCFetching
    public let refetchInterval: Duration
    public let maxAge: Duration
    public let leewaySeconds: Int64
    private var issuers: [String: IssuerKeys] = [:]
    /// JWKS fetches so far (discovery not counted), for tests and metrics.
    public private(set) var jwksFetches = 0

    public init(fetcher: any OIDCFetching = URLSessionOIDCFetcher(), refetchInterval: Duration = .seconds(30),
                maxAge: Duration = .seconds(3600), leewaySeconds: Int64 = 60) {
        self.fetcher = fetcher
        self.refetchInterval = refetchInterval
        self.maxAge = maxAge
        self.leewaySeconds = leewaySeconds
    }

    /// The verified token, or why not. `trusted` decides before any network access.
    public func verify(_ token: String, trusted: (String) -> Bool, nowMs: Int64) async throws(OIDCError) -> JWT {
        let jwt = try JWT(compact: token)
        guard let iss = jwt.string("iss") else { throw .malformed("no iss claim") }
        guard trusted(iss) else { throw .unknownIssuer(iss) }
        guard OIDCVerifier.accepted.contains(jwt.algorithm) else { throw .unsupportedAlgorithm(jwt.algorithm) }
        let keys = try await keys(issuer: iss, kid: jwt.keyID)
        guard !keys.isEmpty else { throw .unknownKey(jwt.keyID) }
        var valid = false
        for k in keys where try k.verifies(jwt) { valid = true }
        guard valid else { throw .badSignature }
        try checkTimes(jwt, nowMs: nowMs)
        return jwt
    }

    func checkTimes(_ jwt: JWT, nowMs: Int64) throws(OIDCError) {
        let now = nowMs / 1000
        guard let exp = jwt.seconds("exp") else { throw .malformed("no exp claim") }
        if exp.addingReportingOverflow(leewaySeconds).partialValue <= now { throw .expired }
        if let nbf = jwt.seconds("nbf"), nbf.subtractingReportingOverflow(leewaySeconds).partialValue > now { throw .notYetValid }
        if let iat = jwt.seconds("iat"), iat.subtractingReportingOverflow(leewaySeconds).partialValue > now { throw .issuedInFuture }
    }

    /// The keys that may have signed a token with `kid`, refreshing within the bound.
    func keys(issuer: String, kid: String?) async throws(OIDCError) -> [VerificationKey] {
        let now = ContinuousClock.now
        var state = issuers[issuer] ?? IssuerKeys()
        let fresh = state.fetchedAt.map { now - $0 < maxAge } ?? false
        let found = state.keys.candidates(kid)
        if fresh, !found.isEmpty { return found }
        if let task = state.inflight {
            await task.value
            return issuers[issuer]?.keys.candidates(kid) ?? []
        }
        if let last = state.fetchedAt, now - last < refetchInterval {
            if found.isEmpty, state.keys.keys.isEmpty, state.keys.anonymous.isEmpty, let why = lastError[issuer] { throw why }
            return found
        }
        let task = Task { await self.refresh(issuer) }
        state.inflight = task
        issuers[issuer] = state
        await task.value
        if let candidates = issuers[issuer]?.keys.candidates(kid), !candidates.isEmpty { return candidates }
        if let why = lastError[issuer] { throw why }
        return []
    }

    private var lastError: [String: OIDCError] = [:]

    /// One discovery (when the JWKS address is unknown) and one JWKS GET. A failure keeps
    /// the keys there were and counts against the interval like a success.
    private func refresh(_ issuer: String) async {
        var state = issuers[issuer] ?? IssuerKeys()
        do throws(OIDCError) {
            if state.jwksURI == nil { state.jwksURI = try await discover(issuer) }
            guard let uri = state.jwksURI else { throw .issuerUnavailable("no jwks_uri") }
            jwksFetches += 1
            state.keys = try JWKSet(json: try await fetcher.get(uri))
            lastError[issuer] = nil
        } catch {
            lastError[issuer] = error
            state.jwksURI = nil
        }
        state.fetchedAt = ContinuousClock.now
        state.inflight = nil
        issuers[issuer] = state
    }

    private func discover(_ issuer: String) async throws(OIDCError) -> URL {
        let doc = try await discovery(issuer)
        guard case .string(let s)? = doc["jwks_uri"], let uri = URL(string: s), IssuerURL.isAcceptable(uri) else {
            throw .issuerUnavailable("the discovery document has no usable jwks_uri")
        }
        return uri
    }

    /// The issuer's discovery document, checked to name the same issuer (OIDC Discovery §4.3).
    public func discovery(_ issuer: String) async throws(OIDCError) -> [String: JSONValue] {
        guard let url = IssuerURL.discovery(issuer) else { throw .issuerUnavailable("'\(issuer)' is not a URL") }
        let data = try await fetcher.get(url)
        guard case .object(let doc)? = try? JSONDecoder().decode(JSONValue.self, from: data) else {
            throw .issuerUnavailable("the discovery document is not a JSON object")
        }
        guard case .string(let named)? = doc["issuer"], named == issuer else {
            throw .issuerUnavailable("the discovery document names another issuer")
        }
        return doc
    }
}

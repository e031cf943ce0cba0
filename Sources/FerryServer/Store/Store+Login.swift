import FerryCore
import Foundation
import WireGuard

extension FerryStore {
    /// `ferry login`: a person's ID token from the configured provider (device grant on
    /// their terminal) enrols a machine, as an enrolment token would, in the segment their
    /// claims map to. The token is verified like a CI job's, its audience must be the
    /// login client, and it is used once.
    public func login(_ req: LoginRequest, config: LoginConfiguration, verifier: OIDCVerifier) async throws -> EnrollResponse {
        let name = try Validate.name(req.name)
        let key = try Validate.publicKey(req.publicKey)
        let tunnel = try req.tunnel.map { s throws(APIError) in try Validate.enumValue(s, TunnelMode.self, field: "tunnel") } ?? .split
        // As with an enrolment token that grants neither, a login gets a split tunnel without
        // mesh links: the admin grants more per peer (PATCH /v1/peers/{id}).
        if tunnel == .full { throw APIError.forbidden("a login enrols a split tunnel; an admin can switch the peer to a full tunnel afterwards", field: "tunnel") }
        if req.mesh == true { throw APIError.forbidden("a login enrols without mesh links; an admin can enable them for the peer afterwards", field: "mesh") }
        let jwt: JWT
        do throws(OIDCError) {
            jwt = try await verifier.verify(req.idToken, trusted: { $0 == config.issuer }, nowMs: clock.now())
            guard jwt.audiences.contains(config.clientID) else { throw OIDCError.wrongAudience(jwt.audiences) }
        } catch {
            throw error.apiError
        }
        guard let segment = config.mapping.segment(for: jwt) else {
            throw APIError.forbidden("your account's claims map to no segment of this network; ask your admin")
        }
        let person = jwt.claimText(config.ownerClaim) ?? jwt.string("sub") ?? "unknown"
        let owner = (try? Validate.label(String(person.prefix(128)), field: "owner")) ?? "oidc"
        let provenance = OIDCProvenance(issuer: config.issuer, rule: "login", subject: jwt.string("sub"), claims: [config.ownerClaim: owner])
        let secret = TokenSecret.generate()
        return try await write(.system("login:\(owner)")) { db, audit, now in
            try FerryStore.useOnce(db, jwt, raw: req.idToken, leewaySeconds: verifier.leewaySeconds, now: now)
            var np = NewPeer(name: name, kind: .device, owner: owner, segmentName: segment, publicKey: key)
            np.tunnel = tunnel
            np.mesh = req.mesh ?? false
            return try FerryStore.enrolDevice(db, np, secret: secret, createdBy: "system:login", now: now, audit: &audit) {
                FerryStore.json(ExchangedPeerAudit(peer: $0, oidc: provenance))
            }
        }
    }
}

import FerryCore
import Foundation

/// The admin side of the API, one method per route, names resolved to ids.
extension CoordinatorClient {
    // MARK: peers

    public func peers(segment: String? = nil, kind: String? = nil, owner: String? = nil) async throws(FerryError) -> [PeerView] {
        var q: [(String, String)] = []
        if let segment { q.append(("segment", segment)) }
        if let kind { q.append(("kind", kind)) }
        if let owner { q.append(("owner", owner)) }
        return try await call(.GET, "/v1/peers", query: q, as: ListResponse<PeerView>.self).items
    }

    /// A peer by id (a device or ci token reads its own).
    public func peer(id: String) async throws(FerryError) -> PeerView {
        try await call(.GET, "/v1/peers/\(Self.escape(id))")
    }

    /// A peer by name or id (`p_...`); a name that does not exist is a `.notFound` error
    /// that says how to list the names.
    public func peer(_ nameOrID: String) async throws(FerryError) -> PeerView {
        if nameOrID.hasPrefix("p_") || nameOrID.hasPrefix("gw_") {
            do throws(FerryError) { return try await call(.GET, "/v1/peers/\(Self.escape(nameOrID))") } catch where error.kind == .notFound {}
        }
        guard let p = try await peers().first(where: { $0.name == nameOrID }) else {
            throw FerryError(.notFound, "no peer named '\(nameOrID)'; 'ferry peers ls' lists them")
        }
        return p
    }

    public func createPeer(_ r: CreatePeerRequest) async throws(FerryError) -> PeerCreated {
        try await call(.POST, "/v1/peers", body: r)
    }

    public func updatePeer(id: String, _ r: UpdatePeerRequest) async throws(FerryError) -> PeerView {
        try await call(.PATCH, "/v1/peers/\(Self.escape(id))", body: r)
    }

    public func deletePeer(id: String) async throws(FerryError) {
        try await send(.DELETE, "/v1/peers/\(Self.escape(id))")
    }

    public func rotateKey(peerID: String, _ r: RotateKeyRequest) async throws(FerryError) -> PeerCreated {
        try await call(.POST, "/v1/peers/\(Self.escape(peerID))/rotate-key", body: r)
    }

    /// The peer's wg-quick file (`format` wg-quick) or its QR code (qr-text, qr-png, qr-svg).
    public func peerConfig(id: String, format: String = "wg-quick") async throws(FerryError) -> Data {
        try await text("/v1/peers/\(Self.escape(id))/config", query: format == "wg-quick" ? [] : [("format", format)])
    }

    // MARK: network, segments, policy

    public func network() async throws(FerryError) -> NetworkView { try await call(.GET, "/v1/network") }

    public func segments() async throws(FerryError) -> [SegmentView] {
        try await call(.GET, "/v1/segments", as: ListResponse<SegmentView>.self).items
    }

    public func createSegment(_ r: CreateSegmentRequest) async throws(FerryError) -> SegmentView {
        try await call(.POST, "/v1/segments", body: r)
    }

    public func deleteSegment(name: String) async throws(FerryError) {
        do throws(FerryError) { try await send(.DELETE, "/v1/segments/\(Self.escape(name))") } catch where error.kind == .notFound {
            throw FerryError(.notFound, "no segment named '\(name)'; 'ferry segments ls' lists them")
        }
    }

    public func rules() async throws(FerryError) -> [PolicyRuleView] {
        try await call(.GET, "/v1/policy/rules", as: ListResponse<PolicyRuleView>.self).items
    }

    public func createRule(_ r: CreatePolicyRuleRequest) async throws(FerryError) -> PolicyRuleView {
        try await call(.POST, "/v1/policy/rules", body: r)
    }

    public func deleteRule(id: String) async throws(FerryError) {
        do throws(FerryError) { try await send(.DELETE, "/v1/policy/rules/\(Self.escape(id))") } catch where error.kind == .notFound {
            throw FerryError(.notFound, "no policy rule '\(id)'; 'ferry policy ls' lists them")
        }
    }

    // MARK: tokens, audit, gateways

    public func tokens() async throws(FerryError) -> [TokenView] {
        try await call(.GET, "/v1/tokens", as: ListResponse<TokenView>.self).items
    }

    public func createToken(_ r: CreateTokenRequest) async throws(FerryError) -> TokenCreated {
        try await call(.POST, "/v1/tokens", body: r)
    }

    /// A token by id or name. A name that several tokens share is refused: guessing one
    /// could revoke a live secret someone else depends on. `confirmSelf`: the token may be
    /// the one making the request (ferryd refuses that otherwise).
    public func deleteToken(_ idOrName: String, confirmSelf: Bool = false) async throws(FerryError) {
        let all = try await tokens()
        let t: TokenView
        if let byID = all.first(where: { $0.id == idOrName }) {
            t = byID
        } else {
            let named = all.filter { $0.name == idOrName }
            guard let only = named.first else { throw FerryError(.notFound, "no token '\(idOrName)'; 'ferry tokens ls' lists them") }
            guard named.count == 1 else {
                throw FerryError(.rejected, "\(named.count) tokens are named '\(idOrName)' (\(named.map(\.id).joined(separator: ", "))); "
                                 + "revoke one by its id")
            }
            t = only
        }
        let (status, data) = try await exchange(.DELETE, "/v1/tokens/\(Self.escape(t.id))", query: confirmSelf ? [("confirm", "self")] : [])
        try Self.check(status, data)
    }

    public struct AuditFilter: Sendable {
        public var since: Date?
        public var until: Date?
        public var peer: String?
        public var actor: String?
        public var limit: Int?
        public init(since: Date? = nil, until: Date? = nil, peer: String? = nil, actor: String? = nil, limit: Int? = nil) {
            self.since = since; self.until = until; self.peer = peer; self.actor = actor; self.limit = limit
        }
    }

    public func audit(_ f: AuditFilter) async throws(FerryError) -> [AuditEventView] {
        let iso = ISO8601DateFormatter()
        var q: [(String, String)] = []
        if let s = f.since { q.append(("since", iso.string(from: s))) }
        if let u = f.until { q.append(("until", iso.string(from: u))) }
        if let p = f.peer { q.append(("peer", p)) }
        if let a = f.actor { q.append(("actor", a)) }
        if let l = f.limit { q.append(("limit", String(l))) }
        return try await call(.GET, "/v1/audit", query: q, as: ListResponse<AuditEventView>.self).items
    }

    public func gateways() async throws(FerryError) -> [GatewayView] {
        try await call(.GET, "/v1/gateways", as: ListResponse<GatewayView>.self).items
    }

    public func createGateway(_ r: CreateGatewayRequest) async throws(FerryError) -> GatewayView {
        try await call(.POST, "/v1/gateways", body: r)
    }

    /// A gateway by name or id.
    public func gateway(_ nameOrID: String) async throws(FerryError) -> GatewayView {
        let all = try await gateways()
        guard let g = all.first(where: { $0.id == nameOrID }) ?? all.first(where: { $0.name == nameOrID }) else {
            throw FerryError(.notFound, "no gateway named '\(nameOrID)'; 'ferry gateways ls' lists them")
        }
        return g
    }

    public func deleteGateway(id: String) async throws(FerryError) {
        try await send(.DELETE, "/v1/gateways/\(Self.escape(id))")
    }

    /// A new key: `publicKey` for a gateway that runs elsewhere; nil for the one ferryd hosts.
    public func rotateGatewayKey(id: String, publicKey: String?) async throws(FerryError) -> GatewayView {
        try await call(.POST, "/v1/gateways/\(Self.escape(id))/rotate-key", body: RotateKeyRequest(publicKey: publicKey))
    }
}

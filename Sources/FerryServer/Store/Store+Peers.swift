import FerryCore
import Foundation
import WireGuard

/// A validated new peer, ready to be given an address and stored.
struct NewPeer: Sendable {
    var name: String
    var kind: PeerKind
    var owner: String
    var segmentName: String
    var publicKey: PublicKey
    var tunnel: TunnelMode = .split
    var dns: [IPAddress]?
    var mtu: Int?
    var keepalive: Int?
    var mesh = false
    var restrictTo: [IPPrefix]?
    var ttlSeconds: Int?
}

extension FerryStore {
    /// The longest TTL anyone may give a peer: one year.
    static let maxTTLSeconds = 365 * 24 * 3600

    // MARK: Allocation and insertion

    /// Stores a peer with the next free address of its segment (next-fit from the
    /// segment's cursor; the UNIQUE index on `ipv4` is the last word).
    static func insertPeer(_ db: any StoreRepository, _ np: NewPeer, now: Millis, createdBy: String) throws -> PeerRecord {
        guard let segment = try db.segment(named: np.segmentName) else { throw APIError.invalid("segment", "no segment named \(np.segmentName)") }
        if try db.peerExists(named: np.name) {
            throw APIError.conflict("name", "a peer named \(np.name) exists")
        }
        if let other = try db.peerName(publicKey: np.publicKey.base64, excluding: nil) {
            throw APIError.conflict("publicKey", "already the key of peer \(other)")
        }
        guard let pool = AddressPool(segment.ipv4) else { throw StoreError.corrupt("segment \(segment.name) prefix") }
        let held = try db.peerCount(segmentID: segment.id)
        let cursor = try db.allocationCursor(segmentID: segment.id)
        guard held < pool.capacity, let (address, next) = try pool.allocate(after: cursor, isTaken: { try db.addressTaken($0) })
        else {
            throw APIError.exhausted("segment", "segment \(segment.name) (\(segment.ipv4)) has no free address")
        }
        try db.setAllocationCursor(segmentID: segment.id, next)
        let peer = Peer(id: IDs.make(np.kind == .gateway ? "gw" : "p"), name: np.name, kind: np.kind, owner: np.owner, segmentID: segment.id,
                        ipv4: address, publicKey: np.publicKey, tunnel: np.tunnel, dns: np.dns, mtu: np.mtu, keepalive: np.keepalive,
                        mesh: np.mesh, enabled: true, restrictTo: np.restrictTo,
                        expiresAt: np.ttlSeconds.map { now + Int64($0) * 1000 }, createdAt: now, updatedAt: now, createdBy: createdBy)
        try db.insertPeer(peer)
        return PeerRecord(peer: peer, gatewayLocal: false)
    }

    /// The segment map and address plan views need.
    static func context(_ db: any StoreRepository) throws -> (segments: [String: Segment], plan: AddressPlan) {
        (Dictionary(uniqueKeysWithValues: try db.segments().map { ($0.id, $0) }), try db.network().plan)
    }

    static func peerView(_ db: any StoreRepository, _ r: PeerRecord) throws -> PeerView {
        let c = try context(db)
        return Views.peer(r, segments: c.segments, plan: c.plan)
    }

    /// Object-level authorization: a ci token touches only the peers it created, a device
    /// token only its own peer, read-only never writes. A peer the caller may not see is
    /// answered as missing (404), so its existence does not leak.
    static func authorize(_ caller: Caller, _ r: PeerRecord, write: Bool) throws(APIError) {
        switch caller.scope {
        case .admin: return
        case .readOnly: if write { throw .forbidden("a read-only token cannot change peers") }
        case .ci: if r.peer.createdBy != caller.auditName { throw .notFound("peer \(r.peer.id)") }
        case .device: if r.peer.id != caller.peerID { throw .notFound("peer \(r.peer.id)") }
        case .gateway:
            if r.peer.id != caller.peerID { throw .notFound("peer \(r.peer.id)") }
            if write { throw .forbidden("a gateway token only reads its gateway's map and sends heartbeats") }
        case .enroll: throw .forbidden("an enrolment token only enrols")
        case .person: if r.peer.kind != .device || r.peer.owner != caller.person { throw .notFound("peer \(r.peer.id)") }
        }
    }

    static func requirePeer(_ db: any StoreRepository, id: String, caller: Caller, write: Bool) throws -> PeerRecord {
        guard let r = try db.peer(id: id) else { throw APIError.notFound("peer \(id)") }
        try authorize(caller, r, write: write)
        return r
    }

    // MARK: Validation of a create request

    /// Checks a create request against the caller's limits: a ci token creates only ci
    /// peers with a TTL up to its maximum, in its own segment.
    static func validate(_ req: CreatePeerRequest, caller: Caller) throws(APIError) -> (NewPeer, PrivateKey?) {
        let name = try Validate.name(req.name)
        var kind = try req.kind.map { s throws(APIError) in try Validate.enumValue(s, PeerKind.self, field: "kind") } ?? .device
        if kind == .gateway { throw .invalid("kind", "create gateways with POST /v1/gateways") }
        var segment = try req.segment.map { s throws(APIError) in try Validate.name(s, field: "segment") }
        if caller.scope == .ci {
            // A token from an OIDC exchange is bound to the one peer it came with.
            if caller.peerID != nil { throw .forbidden("this token belongs to one CI peer and creates no others") }
            if req.kind == nil { kind = .ci }
            guard kind == .ci else { throw .forbidden("a ci token creates only ci peers", field: "kind") }
            guard let ttl = req.ttlSeconds else { throw .forbidden("a ci token creates only ephemeral peers: ttlSeconds is required", field: "ttlSeconds") }
            let max = caller.maxTTLSeconds ?? 3600
            guard ttl <= max else {
                throw .forbidden("ttlSeconds: \(ttl) (\(DurationText.format(seconds: Int64(ttl)))) exceeds this token's maximum of \(max) (\(DurationText.format(seconds: Int64(max)))): give a TTL of at most \(DurationText.format(seconds: Int64(max)))", field: "ttlSeconds")
            }
            if let segment, segment != caller.segmentName {
                throw .forbidden("segment: a ci token creates peers only in its own segment", field: "segment")
            }
            segment = caller.segmentName
            // Egress to the internet and direct links are grants no policy rule covers.
            if req.tunnel == "full" { throw .forbidden("a ci token creates only split-tunnel peers", field: "tunnel") }
            if req.mesh == true { throw .forbidden("a ci token cannot create mesh peers", field: "mesh") }
        }
        if caller.scope == .person {
            // The portal: a person's own device, in the segment their claims map to.
            guard req.kind == nil || kind == .device else { throw .forbidden("a person adds only devices", field: "kind") }
            if let segment, segment != caller.segmentName { throw .forbidden("your devices go in segment \(caller.segmentName ?? "-")", field: "segment") }
            if req.owner != nil, req.owner != caller.person { throw .forbidden("your devices are your own", field: "owner") }
            if req.ttlSeconds != nil || req.tunnel == "full" || req.mesh == true || req.generateKey == true {
                throw .forbidden("a person adds a split-tunnel device with its own public key; an admin grants more")
            }
            segment = caller.segmentName
        }
        guard let segmentName = segment else { throw .missing("segment") }
        var key: PublicKey
        var privateKey: PrivateKey?
        switch (req.publicKey, req.generateKey ?? false) {
        case (.some, true): throw .invalid("generateKey", "give either publicKey or generateKey")
        case (.some(let s), false): key = try Validate.publicKey(s)
        case (nil, true):
            let k = PrivateKey.generate()
            privateKey = k
            key = k.publicKey
        case (nil, false): throw .missing("publicKey")
        }
        var np = NewPeer(name: name, kind: kind, owner: try Validate.label(req.owner ?? caller.person ?? caller.name, field: "owner"),
                         segmentName: segmentName, publicKey: key)
        np.tunnel = try req.tunnel.map { s throws(APIError) in try Validate.enumValue(s, TunnelMode.self, field: "tunnel") } ?? .split
        np.dns = try req.dns.map { d throws(APIError) in try Validate.addresses(d, field: "dns") }
        np.mtu = try req.mtu.map { m throws(APIError) in try Validate.mtu(m) }
        np.keepalive = try req.keepalive.map { k throws(APIError) in try Validate.keepalive(k) }
        np.mesh = req.mesh ?? false
        np.restrictTo = try req.allowedIPs.map { a throws(APIError) in try Validate.prefixes(a, field: "allowedIPs") }
        // Leaving the field out means all that policy allows; an empty list would mean nothing,
        // which is a mistake more often than a wish (and PATCH uses [] to lift a restriction).
        if np.restrictTo?.isEmpty == true {
            throw .invalid("allowedIPs", "give at least one prefix, or leave the field out for all that policy allows")
        }
        if let ttl = req.ttlSeconds {
            guard (1...maxTTLSeconds).contains(ttl) else { throw .invalid("ttlSeconds", "must be between 1 and \(maxTTLSeconds)") }
            np.ttlSeconds = ttl
        }
        return (np, privateKey)
    }

    // MARK: Operations

    public func peers(caller: Caller, segment: String?, kind: String?, owner: String?) async throws -> [PeerView] {
        if let kind { _ = try Validate.enumValue(kind, PeerKind.self, field: "kind") }
        return try await read { db in
            let c = try FerryStore.context(db)
            return try db.peers(.allByCreation).filter { r in
                (caller.scope != .ci || r.peer.createdBy == caller.auditName)
                    && (caller.scope != .device || r.peer.id == caller.peerID)
                    && (caller.scope != .person || (r.peer.kind == .device && r.peer.owner == caller.person))
                    && (segment == nil || c.segments[r.peer.segmentID]?.name == segment)
                    && (kind == nil || r.peer.kind.rawValue == kind) && (owner == nil || r.peer.owner == owner)
            }.map { Views.peer($0, segments: c.segments, plan: c.plan) }
        }.map(withObserved)
    }

    public func peer(id: String, caller: Caller) async throws -> PeerView {
        withObserved(try await read { db in try FerryStore.peerView(db, try FerryStore.requirePeer(db, id: id, caller: caller, write: false)) })
    }

    public func createPeer(_ req: CreatePeerRequest, caller: Caller) async throws -> PeerCreated {
        let (np, privateKey) = try FerryStore.validate(req, caller: caller)
        let created = try await write(caller) { db, audit, now in
            let r = try FerryStore.insertPeer(db, np, now: now, createdBy: caller.auditName)
            let view = try FerryStore.peerView(db, r)
            audit.append(AuditEntry(action: "peer.create", objectType: "peer", objectID: r.peer.id, peerID: r.peer.id, after: FerryStore.json(view)))
            var config: String?
            if let privateKey {
                config = PolicyCompiler(try FerryStore.topology(db)).peerConfig(for: r.peer, privateKey: privateKey, at: now).render()
            }
            return PeerCreated(peer: view, config: config)
        }
        if created.peer.ephemeral { metrics.ephemeralCreated.increment() }
        return created
    }

    public func updatePeer(id: String, _ req: UpdatePeerRequest, caller: Caller) async throws -> PeerView {
        let name = try req.name.map { n throws(APIError) in try Validate.name(n) }
        let owner = try req.owner.map { o throws(APIError) in try Validate.label(o, field: "owner") }
        let tunnel = try req.tunnel.map { s throws(APIError) in try Validate.enumValue(s, TunnelMode.self, field: "tunnel") }
        let dns = try req.dns.map { d throws(APIError) in try Validate.addresses(d, field: "dns") }
        let mtu = try req.mtu.map { m throws(APIError) in try Validate.mtu(m) }
        let keepalive = try req.keepalive.map { k throws(APIError) in try Validate.keepalive(k) }
        let restrict = try req.allowedIPs.map { a throws(APIError) in try Validate.prefixes(a, field: "allowedIPs") }
        return try await write(caller) { db, audit, now in
            let r = try FerryStore.requirePeer(db, id: id, caller: caller, write: true)
            var p = r.peer
            if let name, name != p.name {
                if try db.peerExists(named: name) {
                    throw APIError.conflict("name", "a peer named \(name) exists")
                }
                p.name = name
            }
            if let owner { p.owner = owner }
            if let e = req.enabled { p.enabled = e }
            if let tunnel { p.tunnel = tunnel }
            if let dns { p.dns = dns }
            if let mtu { p.mtu = mtu }
            if let keepalive { p.keepalive = keepalive }
            if let m = req.mesh { p.mesh = m }
            if let restrict { p.restrictTo = restrict.isEmpty ? nil : restrict }
            let before = try FerryStore.peerView(db, r)
            guard p != r.peer else { return before }
            p.updatedAt = now
            try db.savePeer(p)
            var updated = r
            updated.peer = p
            let after = try FerryStore.peerView(db, updated)
            audit.append(AuditEntry(action: "peer.update", objectType: "peer", objectID: id, peerID: id,
                                    before: FerryStore.json(before), after: FerryStore.json(after)))
            return after
        }
    }

    public func deletePeer(id: String, caller: Caller) async throws {
        let ephemeral = try await write(caller) { db, audit, now in
            let r = try FerryStore.requirePeer(db, id: id, caller: caller, write: true)
            let before = try FerryStore.peerView(db, r)
            let gateway = r.peer.kind == .gateway
            audit.append(AuditEntry(action: gateway ? "gateway.delete" : "peer.delete", objectType: gateway ? "gateway" : "peer",
                                    objectID: id, peerID: id, before: FerryStore.json(before)))
            try FerryStore.retireTokens(db, peerID: id, peerName: r.peer.name, reason: "deleted", by: caller.auditName, now: now, audit: &audit)
            try db.deletePeer(id: id)
            return r.peer.isEphemeral
        }
        if ephemeral { metrics.ephemeralDeleted.increment() }
    }

    /// Removes every peer whose TTL has run out; returns how many.
    @discardableResult
    public func reapExpired() async throws -> Int {
        let n = try await write(.system("reaper")) { db, audit, now in
            let expired = try db.peers(.expired(at: now))
            for r in expired {
                let before = try FerryStore.peerView(db, r)
                audit.append(AuditEntry(action: "peer.expire", objectType: "peer", objectID: r.peer.id, peerID: r.peer.id,
                                        before: FerryStore.json(before)))
                try FerryStore.retireTokens(db, peerID: r.peer.id, peerName: r.peer.name, reason: "expired", by: "system:reaper",
                                            now: now, audit: &audit)
                try db.deletePeer(id: r.peer.id)
            }
            return expired.count
        }
        metrics.reaperRuns.increment()
        metrics.ephemeralExpired.increment(by: Int64(n))
        return n
    }

    /// The wg-quick file of a peer or gateway (without its private key).
    public func config(peerID id: String, caller: Caller) async throws -> String {
        let now = clock.now()
        let r = try await read { db in try FerryStore.requirePeer(db, id: id, caller: caller, write: false) }
        let compiler = try await compiler()
        guard let peer = compiler.topology.peers.first(where: { $0.id == id }) else { throw APIError.notFound("peer \(id)") }
        if r.gateway != nil {
            return compiler.gatewayConfig(for: id, interface: try gatewayInterface(compiler, gatewayID: id), at: now)?.render() ?? ""
        }
        return compiler.peerConfig(for: peer, at: now).render()
    }

    /// A peer's network map now.
    /// Found and authorized in the compiled topology (current at this revision, as the
    /// store would say), so a thousand long polls woken by one change read SQLite once.
    public func networkMap(peerID id: String, caller: Caller) async throws -> NetworkMap {
        try await networkMap(peerID: id, caller: caller, interface: nil)
    }

    /// `interface`: a gateway's map renders its firewall for this interface name (a
    /// remote gateway's, `ferryd gateway --interface`); see `gatewayInterface`.
    public func networkMap(peerID id: String, caller: Caller, interface: String?) async throws -> NetworkMap {
        let now = clock.now()
        let compiled = try await compiledTopology()
        guard let peer = compiled.compiler.peer(id: id) else { throw APIError.notFound("peer \(id)") }
        try FerryStore.authorize(caller, PeerRecord(peer: peer, gatewayLocal: false), write: false)
        return compiled.compiler.networkMap(for: peer, interface: try gatewayInterface(compiled.compiler, gatewayID: id, requested: interface), at: now)
    }

    /// Long poll: returns the map as soon as its version differs from `since`, or after
    /// `wait`; nil when it did not change in that time.
    public func networkMap(peerID id: String, caller: Caller, since: Int64, wait: Duration) async throws -> NetworkMap? {
        try await networkMap(peerID: id, caller: caller, since: since, wait: wait, interface: nil)
    }

    public func networkMap(peerID id: String, caller: Caller, since: Int64, wait: Duration, interface: String?) async throws -> NetworkMap? {
        let deadline = ContinuousClock.now + wait
        while true {
            let revision = changes.revision
            let map = try await networkMap(peerID: id, caller: caller, interface: interface)
            if map.version != since { return map }
            let left = deadline - ContinuousClock.now
            if left <= .zero || Task.isCancelled { return nil }
            await changes.wait(after: revision, timeout: left)
            // Stopped (client gone, or shutdown): answer with no change rather than read
            // again, which a cancelled task cannot.
            if Task.isCancelled { return nil }
        }
    }

    /// What an agent reports; audited only when its endpoint changes.
    public func report(peerID id: String, _ req: ReportRequest, caller: Caller) async throws {
        let endpoint = try req.endpoint.map { e throws(APIError) in try Validate.endpoint(e) }
        let candidates = try req.candidates.map { list throws(APIError) in try Validate.meshCandidates(list) }
        for (field, v) in [("meshDirect", req.meshDirect), ("meshRelayed", req.meshRelayed)] {
            if let v, v < 0 { throw APIError.invalid(field, "must not be negative") }
        }
        for (field, v) in [("rxBytes", req.rxBytes), ("txBytes", req.txBytes), ("latestHandshake", req.latestHandshake)] {
            if let v, v < 0 { throw APIError.invalid(field, "must not be negative") }
        }
        // Seconds since the epoch, as wg reports them: a day of clock skew at most, so the
        // stored value always converts back to a date.
        if let h = req.latestHandshake, h > clock.now() / 1000 + 86_400 {
            throw APIError.invalid("latestHandshake", "is in the future (seconds since 1970, as wg show dump prints it)")
        }
        let moved = try await write(caller) { db, audit, now -> Bool in
            let r = try FerryStore.requirePeer(db, id: id, caller: caller, write: false)
            if caller.scope == .readOnly { throw APIError.forbidden("a read-only token cannot report") }
            // New candidates change the maps of its mesh peers (not audited: observations).
            var moved = false
            if let candidates, candidates != r.peer.localCandidates {
                try db.setCandidates(peerID: id, candidates)
                // Other replicas' long polls wake too (PostgreSQL NOTIFY on commit).
                try db.notifyCommit()
                moved = true
            }
            try db.recordReport(peerID: id, endpoint: endpoint, rxBytes: req.rxBytes, txBytes: req.txBytes,
                                latestHandshake: req.latestHandshake, at: now)
            if let endpoint, endpoint != r.peer.reportedEndpoint {
                audit.append(AuditEntry(action: "peer.endpoint", objectType: "peer", objectID: id, peerID: id,
                                        before: FerryStore.json(r.peer.reportedEndpoint?.description),
                                        after: FerryStore.json(endpoint.description)))
            }
            return moved
        }
        if let direct = req.meshDirect, let relayed = req.meshRelayed {
            meshLinks.withLock { $0[id] = MeshLinkCount(direct: direct, relayed: relayed, at: ContinuousClock.now) }
        }
        if moved { changes.notify() }
    }

    /// What the local gateway sees. Counters and handshake times stay in memory (they
    /// change every second for every active peer; the API shows them, metrics export them);
    /// only a changed endpoint is written, since mesh maps use it. Not audited:
    /// observations, not changes.
    func recordObserved(_ observed: [InterfacePeerStatus]) async throws {
        self.observed.withLock { o in
            o = Dictionary(observed.map { ($0.publicKey.base64, $0) }, uniquingKeysWith: { a, _ in a })
        }
        let topology = try await compiler().topology
        let known = Dictionary(topology.peers.map { ($0.publicKey.base64, $0) }, uniquingKeysWith: { a, _ in a })
        let moved = observed.compactMap { o -> (String, String)? in
            guard let e = o.endpoint, let p = known[o.publicKey.base64], p.seenEndpoint != e else { return nil }
            return (p.id, e.description)
        }
        guard !moved.isEmpty else { return }
        try await writeUnaudited { db in
            for (id, endpoint) in moved { try db.setSeenEndpoint(peerID: id, endpoint) }
        }
        changes.notify()
    }

    /// A view with the local gateway's live counters when it has seen the peer.
    func withObserved(_ v: PeerView) -> PeerView {
        guard let o = observed.withLock({ $0[v.publicKey] }) else { return v }
        var v = v
        v.rxBytes = o.rxBytes
        v.txBytes = o.txBytes
        if o.latestHandshake > 0 { v.latestHandshake = Views.date(o.latestHandshake * 1000) }
        return v
    }

    /// Counts for the peers gauge: (kind, state) → number.
    public func peerCounts() async throws -> [String: Int] {
        let now = clock.now()
        return try await read { db in
            var out: [String: Int] = [:]
            for p in try db.peerStates() {
                let state = !p.enabled ? "disabled" : (p.expiresAt.map { $0 <= now } ?? false) ? "expired" : "enabled"
                out["\(p.kind)|\(state)", default: 0] += 1
            }
            return out
        }
    }
}

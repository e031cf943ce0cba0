import FerryCore
import Foundation
import WireGuard

extension FerryStore {
    /// The segment made at bootstrap, where gateways go unless told otherwise; never deleted.
    static let gatewaySegment = "gateways"

    public func gateways() async throws -> [GatewayView] {
        try await read { db in
            let c = try FerryStore.context(db)
            return try db.peers(.gateways)
                .compactMap { r in r.gateway.map { Views.gateway(r, $0, segments: c.segments, plan: c.plan) } }
        }.withActive(self)
    }

    public func gateway(id: String) async throws -> GatewayView {
        try await read { db in
            guard let r = try db.peer(id: id), let g = r.gateway else { throw APIError.notFound("gateway \(id)") }
            let c = try FerryStore.context(db)
            return Views.gateway(r, g, segments: c.segments, plan: c.plan)
        }.withActive(self)
    }

    static func validateSubnets(_ list: [String], network: NetworkSettings) throws -> [IPPrefix] {
        let subnets = try Validate.prefixes(list, field: "subnets")
        for (i, s) in subnets.enumerated() {
            let overlay = network.plan.prefixes(network.ipv4)
            if overlay.contains(where: { $0.overlaps(s) }) {
                throw APIError.invalid("subnets[\(i)]", "\(s) overlaps the network's own prefix")
            }
        }
        return subnets
    }

    public func createGateway(_ req: CreateGatewayRequest, caller: Caller) async throws -> GatewayView {
        let name = try Validate.name(req.name)
        let endpoint = try Validate.endpoint(req.endpoint)
        let listenPort = try req.listenPort.map { p throws(APIError) in try Validate.port(p, field: "listenPort") } ?? endpoint.port
        let segment = try Validate.name(req.segment ?? FerryStore.gatewaySegment, field: "segment")
        let isLocal = localGateway?.gatewayName == name
        let key: PublicKey
        if let given = req.publicKey {
            if isLocal { throw APIError.invalid("publicKey", "ferryd generates the key of the gateway it hosts (\(name)); leave it out") }
            key = try Validate.publicKey(given)
        } else if isLocal, let local = localGateway {
            key = local.publicKey
        } else {
            throw APIError.missing("publicKey")
        }
        let owner = try Validate.label(req.owner ?? caller.name, field: "owner")
        let priority = try FerryStore.validatePriority(req.priority)
        return try await write(caller) { db, audit, now in
            let network = try db.network()
            let subnets = try FerryStore.validateSubnets(req.subnets ?? [], network: network)
            var np = NewPeer(name: name, kind: .gateway, owner: owner, segmentName: segment, publicKey: key)
            np.keepalive = 0
            let r = try FerryStore.insertPeer(db, np, now: now, createdBy: caller.auditName)
            try db.insertGateway(Gateway(peerID: r.peer.id, endpoint: endpoint, listenPort: listenPort, subnets: subnets,
                                         masquerade: req.masquerade ?? false, servesDNS: isLocal), local: isLocal, now: now)
            if let priority { try db.setGatewayPriority(peerID: r.peer.id, priority) }
            guard let stored = try db.peer(id: r.peer.id), let g = stored.gateway else {
                throw StoreError.corrupt("gateway vanished")
            }
            let c = try FerryStore.context(db)
            let view = Views.gateway(stored, g, segments: c.segments, plan: c.plan)
            audit.append(AuditEntry(action: "gateway.create", objectType: "gateway", objectID: r.peer.id, peerID: r.peer.id,
                                    after: FerryStore.json(view)))
            return view
        }
    }

    public func updateGateway(id: String, _ req: UpdateGatewayRequest, caller: Caller) async throws -> GatewayView {
        let endpoint = try req.endpoint.map { e throws(APIError) in try Validate.endpoint(e) }
        let listenPort = try req.listenPort.map { p throws(APIError) in try Validate.port(p, field: "listenPort") }
        let priority = try FerryStore.validatePriority(req.priority)
        return try await write(caller) { db, audit, now in
            guard let r = try db.peer(id: id), var g = r.gateway else { throw APIError.notFound("gateway \(id)") }
            let c = try FerryStore.context(db)
            let before = Views.gateway(r, g, segments: c.segments, plan: c.plan)
            if let endpoint { g.endpoint = endpoint }
            if let listenPort { g.listenPort = listenPort }
            if let s = req.subnets { g.subnets = try FerryStore.validateSubnets(s, network: try db.network()) }
            if let m = req.masquerade { g.masquerade = m }
            if let priority { g.priority = priority }
            var p = r.peer
            if let e = req.enabled { p.enabled = e }
            guard g != r.gateway || p != r.peer else { return before }
            p.updatedAt = now
            try db.savePeer(p)
            try db.updateGateway(g)
            if g.priority != r.gateway?.priority { try db.setGatewayPriority(peerID: id, g.priority) }
            var updated = r
            updated.peer = p
            updated.gateway = g
            let after = Views.gateway(updated, g, segments: c.segments, plan: c.plan)
            audit.append(AuditEntry(action: "gateway.update", objectType: "gateway", objectID: id, peerID: id,
                                    before: FerryStore.json(before), after: FerryStore.json(after)))
            return after
        }
    }

    /// A new key for a peer or gateway. Peers: a public key from the device, or one ferryd
    /// generates and returns once in the config. The local gateway: a new key in its key
    /// file. Another gateway: its new public key.
    public func rotateKey(peerID id: String, _ req: RotateKeyRequest, caller: Caller) async throws -> PeerCreated {
        let given = try req.publicKey.map { k throws(APIError) in try Validate.publicKey(k) }
        if given != nil, req.generateKey == true { throw APIError.invalid("generateKey", "give either publicKey or generateKey") }
        let local = localGateway
        let (target, isGateway) = try await read { db -> (PeerRecord, Bool) in
            let r = try FerryStore.requirePeer(db, id: id, caller: caller, write: true)
            return (r, r.gateway != nil)
        }
        var privateKey: PrivateKey?
        var pendingLocal: PrivateKey?
        let newKey: PublicKey
        if isGateway, target.gatewayLocal, let local {
            if given != nil || req.generateKey == true {
                throw APIError.invalid("publicKey", "ferryd generates the key of the gateway it hosts; send an empty body")
            }
            let k: PrivateKey
            do { k = try local.prepareRotation() } catch is LocalGatewayKeys.RotationInProgress {
                throw APIError.conflict("id", "a key rotation of this gateway is in progress; try again when it has finished")
            }
            pendingLocal = k
            newKey = k.publicKey
        } else if let given {
            newKey = given
        } else if req.generateKey == true, !isGateway {
            let k = PrivateKey.generate()
            privateKey = k
            newKey = k.publicKey
        } else {
            throw APIError.missing("publicKey")
        }
        let generated = privateKey
        do {
            let result = try await write(caller) { db, audit, now in
                let r = try FerryStore.requirePeer(db, id: id, caller: caller, write: true)
                if let other = try db.peerName(publicKey: newKey.base64, excluding: id) {
                    throw APIError.conflict("publicKey", "already the key of peer \(other)")
                }
                let before = try FerryStore.peerView(db, r)
                var p = r.peer
                p.publicKey = newKey
                p.updatedAt = now
                try db.savePeer(p)
                if isGateway { try db.setGatewayKeyRotated(peerID: id, at: now) }
                var updated = r
                updated.peer = p
                let after = try FerryStore.peerView(db, updated)
                audit.append(AuditEntry(action: isGateway ? "gateway.rotate-key" : "peer.rotate-key", objectType: isGateway ? "gateway" : "peer",
                                        objectID: id, peerID: id, before: FerryStore.json(before), after: FerryStore.json(after)))
                var config: String?
                if let generated {
                    config = PolicyCompiler(try FerryStore.topology(db)).peerConfig(for: p, privateKey: generated, at: now).render()
                }
                return PeerCreated(peer: after, config: config)
            }
            // The store has the new public key: the key file must follow (a crash right
            // here is repaired at the next start by `LocalGatewayKeys.recover`).
            if let pendingLocal {
                do { try local?.commitRotation(pendingLocal) } catch { throw RotationCommitError(underlying: error) }
                // The write woke the gateway sync before the key file followed: had it run in
                // between, it saw a key mismatch and held every peer back. Wake it again now.
                changes.notify()
            }
            return result
        } catch let e as RotationCommitError {
            throw e.underlying
        } catch {
            if pendingLocal != nil { local?.abortRotation() }
            throw error
        }
    }

    /// Rotates the local gateway's key when it is older than `cadence`.
    public func rotateLocalGatewayKeyIfDue(cadenceSeconds: Int64) async throws -> Bool {
        guard let local = localGateway else { return false }
        let now = clock.now()
        let due = try await read { db -> String? in
            guard let gateway = try db.localGateway(named: local.gatewayName) else { return nil }
            let at = gateway.keyRotatedAt ?? 0
            return now - at >= cadenceSeconds * 1000 ? gateway.id : nil
        }
        guard let id = due else { return false }
        _ = try await rotateKey(peerID: id, RotateKeyRequest(), caller: .system("key-rotation"))
        return true
    }

    /// The interface a gateway's firewall and wg-quick file name: `requested`, else the local
    /// gateway's own interface, else wg0 (a remote gateway's /etc/wireguard/wg0.conf). The
    /// rules match on this name, so it must be the one the gateway really uses.
    func gatewayInterface(_ compiler: PolicyCompiler, gatewayID: String, requested: String? = nil) throws(APIError) -> String {
        if let requested {
            guard InterfaceName.isPlain(requested) else { throw .invalid("interface", InterfaceName.problem(requested)) }
            return requested
        }
        if let local = localGateway, compiler.peer(id: gatewayID)?.name == local.gatewayName {
            return local.interface
        }
        return "wg0"
    }

    /// A gateway's rendered configuration in `format`: wg-quick, nftables or iptables.
    public func gatewayConfig(id: String, format: String, interface requested: String?) async throws -> String {
        let now = clock.now()
        let compiler = try await compiler()
        guard compiler.topology.gateways.contains(where: { $0.peerID == id }) else { throw APIError.notFound("gateway \(id)") }
        let iface = try gatewayInterface(compiler, gatewayID: id, requested: requested)
        let plan = compiler.firewall(ofGateway: id, interface: iface, at: now)
        switch format {
        case "wg-quick": return compiler.gatewayConfig(for: id, interface: iface, at: now)?.render() ?? ""
        case "nftables": return NFTablesRenderer.render(plan)
        case "iptables": return IPTablesRenderer.render(plan, family: .ipv4) + "\n" + IPTablesRenderer.render(plan, family: .ipv6)
        default: throw APIError.invalid("format", "must be one of wg-quick, nftables, iptables")
        }
    }
}

/// The database took the new key but the key file could not be swapped: keep the side file.
struct RotationCommitError: Error { let underlying: any Error }

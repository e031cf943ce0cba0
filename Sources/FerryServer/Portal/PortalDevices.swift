import FerryCore
import Foundation
import WireGuard

/// A device as the portal shows it: the peer, what its config lets it reach, and whether
/// the static config it was given no longer matches (gateway key rotated, endpoint or
/// subnets changed).
struct PortalDevice: Codable, Sendable, Equatable {
    var peer: PeerView
    /// `gateway gw1: 172.20.0.0/24` per WireGuard peer of its config.
    var reaches: [String]
    var stale: Bool
}

/// What the portal's "add a device" answers: the peer and its wg-quick file with the
/// private key left for the browser to fill in (the placeholder line of
/// `WGQuickConfig.render()`).
struct PortalDeviceCreated: Codable, Sendable {
    var peer: PeerView
    var config: String
}

struct PortalAddDeviceRequest: StrictDecodable {
    var name: String
    var publicKey: String
    enum CodingKeys: String, CodingKey, CaseIterable { case name, publicKey }
}

struct PortalRenameRequest: StrictDecodable {
    var name: String
    enum CodingKeys: String, CodingKey, CaseIterable { case name }
}

struct PortalRotateRequest: StrictDecodable {
    var publicKey: String
    enum CodingKeys: String, CodingKey, CaseIterable { case publicKey }
}

extension FerryStore {
    /// A device's config without its private key, as the compiler makes it now.
    func portalConfig(peerID: String, caller: Caller) async throws -> WGQuickConfig {
        _ = try await read { db in try FerryStore.requirePeer(db, id: peerID, caller: caller, write: false) }
        let compiler = try await compiler()
        guard let peer = compiler.topology.peers.first(where: { $0.id == peerID }) else { throw APIError.notFound("peer \(peerID)") }
        return compiler.peerConfig(for: peer, at: clock.now())
    }

    /// What a device's working depends on: the config without comments (names are
    /// labels; a renamed gateway does not break a tunnel).
    static func portalFingerprint(_ config: WGQuickConfig) -> String {
        var c = config
        c.comment = []
        c.peers = c.peers.map { var p = $0; p.comment = nil; return p }
        return c.render()
    }

    /// The caller's devices (a person: their own; an admin: every device) with staleness.
    func portalDevices(caller: Caller) async throws -> [PortalDevice] {
        let issued = try await portalIssued()
        var out: [PortalDevice] = []
        for peer in try await peers(caller: caller, segment: nil, kind: PeerKind.device.rawValue, owner: nil) {
            let config = try await portalConfig(peerID: peer.id, caller: caller)
            let reaches = config.peers.map { p in "\(p.comment ?? "peer"): \(p.allowedIPs.map(\.description).joined(separator: ", "))" }
            let stale = issued[peer.id].map { $0 != TokenSecret.hash(FerryStore.portalFingerprint(config)) } ?? false
            out.append(PortalDevice(peer: peer, reaches: reaches, stale: stale))
        }
        return out
    }

    /// Adds a device for the caller with the public key made in their browser, through the
    /// API's own `createPeer` (same validation and authorization), and returns its config.
    func portalAddDevice(_ req: PortalAddDeviceRequest, caller: Caller) async throws -> PortalDeviceCreated {
        let created = try await createPeer(CreatePeerRequest(name: req.name, publicKey: req.publicKey), caller: caller)
        return try await portalIssue(created.peer, caller: caller)
    }

    /// A new key for a device (its old config stops working), and its config.
    func portalRotate(peerID: String, _ req: PortalRotateRequest, caller: Caller) async throws -> PortalDeviceCreated {
        let rotated = try await rotateKey(peerID: peerID, RotateKeyRequest(publicKey: req.publicKey), caller: caller)
        return try await portalIssue(rotated.peer, caller: caller)
    }

    /// The config a device is given now (also a stale device's new one), remembered by hash.
    func portalIssue(_ peer: PeerView, caller: Caller) async throws -> PortalDeviceCreated {
        let config = try await portalConfig(peerID: peer.id, caller: caller)
        try await portalRecordIssued(peerID: peer.id, template: FerryStore.portalFingerprint(config))
        return PortalDeviceCreated(peer: peer, config: config.render())
    }
}

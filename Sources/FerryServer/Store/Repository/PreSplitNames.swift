import FerryCore
import Foundation

/// The service's loaders as they were named before the service/repository split, so code
/// written against them on other branches still compiles when merged: each forwards to the
/// repository. Deprecated: call the repository (`db.peer(id:)`, `db.network()`, ...) and
/// delete this file once no caller is left.
extension CoordinatorService {
    @available(*, deprecated, message: "use db.peers(.all)")
    static func loadPeers(_ db: any StoreRepository) throws -> [PeerRecord] { try db.peers(.all) }

    @available(*, deprecated, message: "use db.peer(id:)")
    static func loadPeer(_ db: any StoreRepository, id: String) throws -> PeerRecord? { try db.peer(id: id) }

    @available(*, deprecated, message: "use db.network()")
    static func loadNetwork(_ db: any StoreRepository) throws -> NetworkSettings { try db.network() }

    @available(*, deprecated, message: "use db.segments()")
    static func loadSegments(_ db: any StoreRepository) throws -> [Segment] { try db.segments() }

    @available(*, deprecated, message: "use db.rules()")
    static func loadRules(_ db: any StoreRepository) throws -> [PolicyRule] { try db.rules() }

    @available(*, deprecated, message: "use db.segment(named:)")
    static func segment(named name: String, _ db: any StoreRepository) throws -> Segment? { try db.segment(named: name) }

    @available(*, deprecated, message: "use db.gatewayNames()")
    static func gatewayNames(_ db: any StoreRepository) throws -> [String: String] { try db.gatewayNames() }

    @available(*, deprecated, message: "use db.savePeer(_:)")
    static func savePeer(_ db: any StoreRepository, _ p: Peer) throws { try db.savePeer(p) }

    @available(*, deprecated, message: "use db.setGatewayPriority(peerID:_:)")
    static func setGatewayPriority(_ db: any StoreRepository, id: String, priority: Int) throws {
        try db.setGatewayPriority(peerID: id, priority)
    }
}

import Foundation

/// What a gateway host sends the coordinator every second (`POST /v1/gateways/{id}/heartbeat`):
/// that it is alive and converged, and what its interface sees. A heartbeat with a
/// `problem` (its firewall could not be loaded, so it serves no peers) does not count as
/// alive: agents move to another gateway as if it had stopped.
public struct GatewayHeartbeatRequest: StrictDecodable, Codable, Sendable, Equatable {
    public struct ObservedPeer: Codable, Sendable, Equatable {
        public var publicKey: String
        public var endpoint: String?
        /// Unix seconds; 0 without a handshake.
        public var latestHandshake: Int64
        public var rxBytes: Int64
        public var txBytes: Int64
        public init(publicKey: String, endpoint: String?, latestHandshake: Int64, rxBytes: Int64, txBytes: Int64) {
            self.publicKey = publicKey; self.endpoint = endpoint; self.latestHandshake = latestHandshake
            self.rxBytes = rxBytes; self.txBytes = txBytes
        }
    }
    /// The version of the map it has applied.
    public var mapVersion: Int64?
    public var peers: [ObservedPeer]?
    public var problem: String?
    public enum CodingKeys: String, CodingKey, CaseIterable { case mapVersion, peers, problem }
    public init(mapVersion: Int64? = nil, peers: [ObservedPeer]? = nil, problem: String? = nil) {
        self.mapVersion = mapVersion; self.peers = peers; self.problem = problem
    }
}

/// The coordinator's answer to a heartbeat: its verdict on this gateway.
public struct GatewayHeartbeatResponse: Codable, Sendable, Equatable {
    /// up, or held-down (alive again, waiting out the hold-down before taking traffic back).
    public var status: String
    /// The subnets agents route through this gateway now.
    public var active: [String]
    public init(status: String, active: [String]) { self.status = status; self.active = active }
}

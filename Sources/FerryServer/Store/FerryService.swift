import FerryCore
import Foundation

/// The coordinator's service interface: what the HTTP layer needs, and the routes are
/// written against this protocol. `CoordinatorService` (alias `FerryStore`) is the
/// implementation: it owns the rules (validation, authorization, allocation, audit,
/// metrics, change notification, long polling) and reaches the data only through the
/// repository (`StoreRepository`, Store/Repository/), which holds every SQL statement and
/// runs on either engine (SQLite through GRDB, PostgreSQL through postgres-nio). Every
/// method that changes something appends its audit records in the same transaction,
/// validates before writing, and throws `APIError` naming the offending field.
public protocol FerryService: Sendable {
    func authenticate(_ secret: Substring) async throws -> Caller

    func network() async throws -> NetworkView
    func updateNetwork(_ req: UpdateNetworkRequest, caller: Caller) async throws -> NetworkView

    func segments() async throws -> [SegmentView]
    func segment(named name: String) async throws -> SegmentView
    func createSegment(_ req: CreateSegmentRequest, caller: Caller) async throws -> SegmentView
    func deleteSegment(named name: String, caller: Caller) async throws

    func rules() async throws -> [PolicyRuleView]
    func createRule(_ req: CreatePolicyRuleRequest, caller: Caller) async throws -> PolicyRuleView
    func deleteRule(id: String, caller: Caller) async throws

    func dnsRecords() async throws -> [DNSRecordView]
    func createDNSRecord(_ req: CreateDNSRecordRequest, caller: Caller) async throws -> DNSRecordView
    func deleteDNSRecord(id: String, caller: Caller) async throws

    func peers(caller: Caller, segment: String?, kind: String?, owner: String?) async throws -> [PeerView]
    func peer(id: String, caller: Caller) async throws -> PeerView
    func createPeer(_ req: CreatePeerRequest, caller: Caller) async throws -> PeerCreated
    func updatePeer(id: String, _ req: UpdatePeerRequest, caller: Caller) async throws -> PeerView
    func deletePeer(id: String, caller: Caller) async throws
    func rotateKey(peerID id: String, _ req: RotateKeyRequest, caller: Caller) async throws -> PeerCreated
    func config(peerID id: String, caller: Caller) async throws -> String
    func networkMap(peerID id: String, caller: Caller) async throws -> NetworkMap
    func networkMap(peerID id: String, caller: Caller, since: Int64, wait: Duration) async throws -> NetworkMap?
    func report(peerID id: String, _ req: ReportRequest, caller: Caller) async throws
    func enroll(_ req: EnrollRequest, caller: Caller) async throws -> EnrollResponse

    func gateways() async throws -> [GatewayView]
    func gateway(id: String) async throws -> GatewayView
    func createGateway(_ req: CreateGatewayRequest, caller: Caller) async throws -> GatewayView
    func updateGateway(id: String, _ req: UpdateGatewayRequest, caller: Caller) async throws -> GatewayView
    func gatewayConfig(id: String, format: String, interface: String?) async throws -> String

    func tokens() async throws -> [TokenView]
    func createToken(_ req: CreateTokenRequest, caller: Caller) async throws -> TokenCreated
    func deleteToken(id: String, caller: Caller, confirmSelf: Bool) async throws

    func audit(_ query: AuditQuery) async throws -> [AuditEventView]
    func peerCounts() async throws -> [String: Int]

    // Gateway failover (Store+Failover.swift): a remote gateway's map for its interface
    // name, its token, its heartbeats.
    func networkMap(peerID id: String, caller: Caller, interface: String?) async throws -> NetworkMap
    func networkMap(peerID id: String, caller: Caller, since: Int64, wait: Duration, interface: String?) async throws -> NetworkMap?
    func createGatewayToken(id: String, caller: Caller) async throws -> TokenCreated
    func gatewayHeartbeat(id: String, _ req: GatewayHeartbeatRequest, caller: Caller) async throws -> GatewayHeartbeatResponse
    /// Mesh link ends by path, as the agents last reported them (Store+Mesh).
    func meshLinkTotals() -> (direct: Int, relayed: Int)
}

extension CoordinatorService: FerryService {}

/// The service interface's former name (it was never a repository: see `StoreRepository`).
@available(*, deprecated, renamed: "FerryService")
public typealias FerryRepository = FerryService

extension FerryService {
    /// Every peer the caller may see.
    public func peers(caller: Caller) async throws -> [PeerView] {
        try await peers(caller: caller, segment: nil, kind: nil, owner: nil)
    }
}

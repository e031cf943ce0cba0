import FerryCore
import Foundation
import WireGuard

/// This machine's enrolment, as `ferry join` stored it in `state.json`.
public struct AgentState: StrictDecodable, Codable, Sendable, Equatable {
    /// The layout of the state folder; bumped when it changes incompatibly.
    public static let currentFormat = 1

    public var format: Int
    /// The coordinator's base URL, e.g. `https://gw.example.com:8443`.
    public var coordinator: String
    /// The SHA-256 fingerprint the coordinator's certificate was pinned with (`coordinator.pem`).
    public var fingerprint: String?
    public var peerID: String
    public var name: String
    /// The WireGuard interface `ferry up` brings up.
    public var interface: String
    /// The device token (scope device: this peer only).
    public var deviceToken: String
    public var enrolledAt: Date
    /// True for a CI job's peer (`ferry ci up`): deleted by `ferry ci down` or its TTL.
    public var ephemeral: Bool
    /// More coordinators of the same network (replicas), tried in order when the one in
    /// use stops answering; each pinned on its own (`coordinator-N.pem`). Absent: one.
    public var alternates: [AlternateCoordinator]? = nil

    public enum CodingKeys: String, CodingKey, CaseIterable {
        case format, coordinator, fingerprint, peerID, name, interface, deviceToken, enrolledAt, ephemeral, alternates
    }

    public init(coordinator: String, fingerprint: String?, peerID: String, name: String, interface: String,
                deviceToken: String, enrolledAt: Date, ephemeral: Bool = false) {
        format = Self.currentFormat
        self.coordinator = coordinator
        self.fingerprint = fingerprint
        self.peerID = peerID
        self.name = name
        self.interface = interface
        self.deviceToken = deviceToken
        self.enrolledAt = enrolledAt
        self.ephemeral = ephemeral
    }
}

/// The state folder (default `/var/lib/ferry`, mode 0700; every file 0600, written
/// atomically):
///
/// | file | holds |
/// | --- | --- |
/// | `state.json` | `AgentState`: coordinator, pin, peer id and name, interface, device token |
/// | `private.key` | the WireGuard private key, base64 as `wg genkey` prints it |
/// | `coordinator.pem` | the pinned certificate (only when joined with a fingerprint) |
/// | `netmap.json` | the last network map received (used while the coordinator is down) |
/// | `admin.token` | an admin token for the admin commands (optional, written by the user) |
/// | `agent.pid` | the running agent's process id (while `ferry up` runs) |
public struct StateDirectory: Sendable {
    public static let defaultPath = "/var/lib/ferry"
    public let path: String

    public init(path: String) { self.path = path }

    /// `--state DIR`, else `$FERRY_STATE`, else `/var/lib/ferry`.
    public static func resolve(_ flag: String?, environment: [String: String] = ProcessInfo.processInfo.environment) -> StateDirectory {
        StateDirectory(path: flag ?? environment["FERRY_STATE"].flatMap { $0.isEmpty ? nil : $0 } ?? defaultPath)
    }

    public func file(_ name: String) -> String { "\(path)/\(name)" }
    public var stateFile: String { file("state.json") }
    public var keyFile: String { file("private.key") }
    public var certificateFile: String { file("coordinator.pem") }
    public var netmapFile: String { file("netmap.json") }
    public var adminTokenFile: String { file("admin.token") }
    public var pidFile: String { file("agent.pid") }

    public var isEnrolled: Bool { FileManager.default.fileExists(atPath: stateFile) }

    // MARK: reading

    public func load() throws(FerryError) -> AgentState {
        guard let data = FileManager.default.contents(atPath: stateFile) else {
            if FileManager.default.fileExists(atPath: stateFile) {
                throw .state("cannot read \(stateFile) (permission denied?); run ferry as root or give --state")
            }
            throw .state("this machine is not enrolled (no \(stateFile)); run 'ferry join URL --token TOKEN' first, or give --state")
        }
        let state: AgentState
        do throws(APIError) {
            state = try FerryJSON.decodeStrict(AgentState.self, from: data)
        } catch {
            throw .state("\(stateFile) is corrupt (\(error.message)); move the folder away and run 'ferry join' again")
        }
        guard state.format == AgentState.currentFormat else {
            throw .state("\(stateFile) has format \(state.format), this ferry reads \(AgentState.currentFormat); upgrade ferry or join again")
        }
        // The name goes into ip(8) commands, nftables rules and a socket path.
        guard InterfaceName.isPlain(state.interface) else {
            throw .state("\(stateFile) is corrupt (interface: \(InterfaceName.problem(state.interface))); move the folder away and run 'ferry join' again")
        }
        return state
    }

    public func loadPrivateKey() throws(FerryError) -> PrivateKey {
        guard let data = FileManager.default.contents(atPath: keyFile) else {
            throw .state("the private key \(keyFile) is missing; run 'ferry join' again")
        }
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard let key = try? PrivateKey(base64: text) else {
            throw .state("\(keyFile) is corrupt (not a WireGuard private key); move the folder away and run 'ferry join' again")
        }
        return key
    }

    /// The pinned certificate (PEM), when the state has a pin.
    public func loadPinnedCertificate(for state: AgentState) throws(FerryError) -> String? {
        guard state.fingerprint != nil else { return nil }
        guard let data = FileManager.default.contents(atPath: certificateFile) else {
            throw .state("the pinned certificate \(certificateFile) is missing; run 'ferry join' again with --fingerprint")
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// The last map received, nil when there is none or it cannot be read (it is a cache).
    public func loadNetmap() -> NetworkMap? {
        guard let data = FileManager.default.contents(atPath: netmapFile) else { return nil }
        return try? FerryJSON.decoder().decode(NetworkMap.self, from: data)
    }

    public func loadAdminToken() -> String? {
        guard let data = FileManager.default.contents(atPath: adminTokenFile) else { return nil }
        let t = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return t.isEmpty ? nil : t
    }

    // MARK: writing

    /// Writes a whole enrolment: key, pinned certificate, map, then `state.json` last, so a
    /// folder with a `state.json` always has the rest.
    public func saveEnrolment(_ state: AgentState, privateKey: PrivateKey, certificatePEM: String?, netmap: NetworkMap) throws(FerryError) {
        try AtomicFile.makeDirectory(path)
        try AtomicFile.write(privateKey.base64 + "\n", to: keyFile)
        if let certificatePEM { try AtomicFile.write(certificatePEM, to: certificateFile) }
        try saveNetmap(netmap)
        try save(state)
    }

    public func save(_ state: AgentState) throws(FerryError) {
        let data: Data
        do { data = try Self.prettyEncoder.encode(state) } catch { throw .failure("cannot encode the state: \(error)") }
        try AtomicFile.write(data + Data("\n".utf8), to: stateFile)
    }

    public func saveNetmap(_ map: NetworkMap) throws(FerryError) {
        let data: Data
        do { data = try Self.prettyEncoder.encode(map) } catch { throw .failure("cannot encode the network map: \(error)") }
        try AtomicFile.write(data, to: netmapFile)
    }

    /// Removes the enrolment files (after `ferry ci down` deleted the peer, or `ferry leave`).
    public func removeEnrolment() {
        for f in [stateFile, keyFile, certificateFile, netmapFile, pidFile] + alternateCertificateFiles { unlink(f) }
    }

    static var prettyEncoder: JSONEncoder {
        let e = FerryJSON.encoder()
        e.outputFormatting.insert(.prettyPrinted)
        return e
    }
}

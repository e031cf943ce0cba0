import FerryCore
import Foundation
import Synchronization
import WireGuard

/// The private key of the gateway this ferryd hosts (`--gateway IFNAME`). Generated here,
/// where it is used, and kept only in `DATA/gateway-IFNAME.key` (mode 0600), never in the
/// database. Rotation writes the new key beside the old one first (`.new`) and swaps
/// after the database has the new public key, so a crash in between loses neither.
public final class LocalGatewayKeys: Sendable {
    public let interface: String
    /// The gateway record this host serves (by name).
    public let gatewayName: String
    let path: URL
    private let current: Mutex<PrivateKey>
    /// One rotation at a time: two interleaved ones could leave the key file holding one
    /// key and the database the other.
    private let rotating = Mutex(false)

    public init(directory: URL, interface: String, gatewayName: String) throws {
        self.interface = interface
        self.gatewayName = gatewayName
        path = directory.appendingPathComponent("gateway-\(interface).key")
        if let key = try LocalGatewayKeys.load(path) {
            current = Mutex(key)
        } else {
            let key = PrivateKey.generate()
            try LocalGatewayKeys.store(key, at: path)
            current = Mutex(key)
        }
    }

    public var privateKey: PrivateKey { current.withLock { $0 } }
    public var publicKey: PublicKey { privateKey.publicKey }

    var pendingPath: URL { path.appendingPathExtension("new") }

    /// Writes a new key to the side file and returns it; `commitRotation` makes it current.
    /// Throws `RotationInProgress` while another rotation has not committed or aborted.
    func prepareRotation() throws -> PrivateKey {
        guard rotating.withLock({ busy in defer { busy = true }; return !busy }) else { throw RotationInProgress() }
        do {
            let key = PrivateKey.generate()
            try LocalGatewayKeys.store(key, at: pendingPath)
            return key
        } catch {
            rotating.withLock { $0 = false }
            throw error
        }
    }

    func commitRotation(_ key: PrivateKey) throws {
        defer { rotating.withLock { $0 = false } }
        // rename(2) replaces the old file atomically.
        guard rename(pendingPath.path, path.path) == 0 else { throw CocoaError(.fileWriteUnknown) }
        current.withLock { $0 = key }
    }

    func abortRotation() {
        defer { rotating.withLock { $0 = false } }
        try? FileManager.default.removeItem(at: pendingPath)
    }

    struct RotationInProgress: Error {}

    /// After a crash between the database commit and the swap: the side file wins when
    /// the database already holds its public key.
    public func recover(storedPublicKey: PublicKey?) throws {
        guard let pending = try LocalGatewayKeys.load(pendingPath) else { return }
        if pending.publicKey == storedPublicKey { try commitRotation(pending) } else { abortRotation() }
    }

    static func load(_ url: URL) throws -> PrivateKey? {
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        let text = try String(contentsOf: url, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        return try PrivateKey(base64: text)
    }

    static func store(_ key: PrivateKey, at url: URL) throws {
        try? FileManager.default.removeItem(at: url)
        // Created 0600 before the key goes in.
        guard FileManager.default.createFile(atPath: url.path, contents: nil, attributes: [.posixPermissions: 0o600]) else {
            throw CocoaError(.fileWriteNoPermission)
        }
        let h = try FileHandle(forWritingTo: url)
        try h.write(contentsOf: Data((key.base64 + "\n").utf8))
        try h.synchronize()
        try h.close()
    }
}

import FerryCore
import WireGuard

/// The local WireGuard interface as `ferry doctor` found it (read once, before the checks).
public struct InterfaceSnapshot: Sendable, Equatable {
    public var name: String
    /// What the interface holds (UAPI `get=1`, or `wg show IFNAME dump` over the kernel module).
    public var device: UAPIDeviceStatus
    /// The interface's own addresses (`ip address show dev IFNAME`).
    public var addresses: [IPPrefix]
    public var mtu: Int?

    public init(name: String, device: UAPIDeviceStatus, addresses: [IPPrefix] = [], mtu: Int? = nil) {
        self.name = name
        self.device = device
        self.addresses = addresses
        self.mtu = mtu
    }

    public var publicKey: PublicKey? { device.privateKey.flatMap { $0.isZero ? nil : $0.publicKey } }

    public func peer(_ key: PublicKey) -> UAPIPeerStatus? { device.peers.first { $0.publicKey == key } }
}

/// What the coordinator says about this machine.
public struct CoordinatorView: Sendable, Equatable {
    /// `GET /v1/peers/{id}/netmap`: what the interface should hold.
    public var map: NetworkMap
    /// `GET /v1/peers/{id}`: the key the coordinator has for us and the endpoint the gateway
    /// saw us at. nil when it could not be read (the checks that need it say so).
    public var peer: PeerView?

    public init(map: NetworkMap, peer: PeerView? = nil) {
        self.map = map
        self.peer = peer
    }
}

/// A network-map entry with its text fields parsed. Entries whose key does not parse are
/// the coordinator's error, reported by the keys check.
struct MapPeer: Sendable {
    var entry: NetworkMap.Entry
    var publicKey: PublicKey?
    var allowedIPs: [IPPrefix]
    var endpoint: HostPort?

    init(_ entry: NetworkMap.Entry) {
        self.entry = entry
        publicKey = try? PublicKey(base64: entry.publicKey)
        allowedIPs = entry.allowedIPs.compactMap { IPPrefix($0)?.network }
        endpoint = entry.endpoint.flatMap { HostPort($0) }
    }

    /// `gateway gw1`, `mesh bob-laptop`: how messages name it.
    var label: String { "\(entry.role) \(entry.name)" }

    /// An address across the tunnel that belongs to this peer itself: the first host
    /// prefix (/32, then /128) in its AllowedIPs. A gateway's own overlay address is always
    /// among them unless a wider prefix of the map covers it.
    var ownAddress: IPAddress? {
        allowedIPs.first { $0.address.isIPv4 && $0.length == 32 }?.address
            ?? allowedIPs.first { !$0.address.isIPv4 && $0.length == 128 }?.address
    }
}

extension CoordinatorView {
    var peers: [MapPeer] { map.peers.map(MapPeer.init) }
}

extension Array where Element == IPPrefix {
    /// `a, b, c` as wg-quick writes AllowedIPs.
    var listed: String { isEmpty ? "(none)" : map(\.description).joined(separator: ", ") }
    /// `a,b,c` as `wg set … allowed-ips` takes them.
    var commaSeparated: String { map(\.description).joined(separator: ",") }
}

extension PublicKey {
    /// The first characters of the base64 key, as people compare keys at a glance.
    var short: String { String(base64.prefix(8)) + "…" }
}

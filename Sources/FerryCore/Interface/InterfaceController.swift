import WireGuard

/// One peer of a WireGuard interface as `wg show IFNAME dump` (or the UAPI) reports it.
public struct InterfacePeerStatus: Sendable, Equatable {
    public var publicKey: PublicKey
    public var endpoint: HostPort?
    public var allowedIPs: [IPPrefix]
    /// Unix seconds; 0 when there has been no handshake.
    public var latestHandshake: Int64
    public var rxBytes: Int64
    public var txBytes: Int64
}

/// Drives one WireGuard interface: make it exist and carry its addresses, make its key,
/// port and peers equal to a configuration, read its peers' counters. Implementations:
/// in FerrySystem: `WGToolInterface` (wg(8) and ip(8): kernel module or any UAPI daemon — wg uses the
/// socket /var/run/wireguard/IFNAME.sock when there is one) and, once the UAPI codec
/// lands, a direct UAPI socket client.
public protocol InterfaceController: Sendable {
    var name: String { get }
    func ensureUp(addresses: [IPPrefix], mtu: Int) async throws
    /// Makes key, port and peers equal to `config` (its wg-quick-only keys are ignored),
    /// touching only what differs so live sessions survive.
    func apply(_ config: WGQuickConfig) async throws
    func status() async throws -> [InterfacePeerStatus]
}

/// Loads a firewall ruleset, reads back what is live, and guards forwarding.
public protocol FirewallController: Sendable {
    func apply(nftables: String) async throws
    func remove(interface: String) async throws
    /// The interface's table as it is live now, without counters (`nft -s list table`);
    /// nil when it is missing. Compared with what was live right after a load, it tells
    /// when someone else changed or flushed the rules.
    func live(interface: String) async throws -> String?
    /// Makes forwarding of traffic that arrives on `interface` depend on the ruleset: such
    /// traffic is routed only when the table marked it (`FirewallPlan.forwardMark`), so a
    /// flushed or missing ruleset blocks forwarding instead of opening it.
    func guardForwarding(interface: String) async throws
}

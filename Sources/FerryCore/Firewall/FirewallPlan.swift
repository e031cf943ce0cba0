import WireGuard

/// One forwarding decision for traffic arriving from the WireGuard interface.
public struct FirewallRule: Sendable, Equatable {
    public enum Action: String, Sendable { case accept, drop }
    public var sources: [IPPrefix]
    /// nil: any destination (for egress: any leaving through another interface).
    public var destinations: [IPPrefix]?
    /// Destinations excluded from a `nil` destination list (egress skips internal ranges).
    public var excluding: [IPPrefix]
    public var action: Action
    public var comment: String
    /// What an accept opens; empty: every protocol and port.
    public var ports: [PortSpec]

    public init(sources: [IPPrefix], destinations: [IPPrefix]?, excluding: [IPPrefix] = [], action: Action, comment: String,
                ports: [PortSpec] = []) {
        self.sources = sources
        self.destinations = destinations
        self.excluding = excluding
        self.action = action
        self.comment = comment
        self.ports = ports
    }
}

/// The moment an ephemeral peer's access ends, carried into the rules themselves so the
/// kernel enforces it even when ferryd is not running at that moment (nftables
/// `meta time`, iptables `-m time`).
public struct FirewallExpiry: Sendable, Equatable {
    public var addresses: [IPPrefix]
    /// Wall-clock milliseconds; rules use the next whole second, so access never ends early.
    public var at: Millis
    public var comment: String

    public init(addresses: [IPPrefix], at: Millis, comment: String) {
        self.addresses = addresses
        self.at = at
        self.comment = comment
    }

    /// Unix seconds, rounded up.
    public var seconds: Int64 { at / 1000 + (at % 1000 > 0 ? 1 : 0) }
}

/// A gateway's policy, rendered as nftables or iptables.
///
/// Shape: an expired ephemeral peer's traffic is dropped first, in every direction, even
/// replies; then replies of allowed connections pass; new connections from the WireGuard
/// interface pass only when a rule accepts them; everything else from it is dropped
/// (default deny, also between peers); new connections into the interface from elsewhere
/// are dropped; with masquerade, traffic from the overlay leaving through another
/// interface is source-NATed.
///
/// The gateway host itself is inside policy too: traffic from the interface to any of the
/// host's own addresses (the input hook) passes only for ICMP echo (`ferry doctor`), the
/// `services` every peer needs (the coordinator's API, DNS), and `hostRules`; the rest is
/// dropped.
public struct FirewallPlan: Sendable, Equatable {
    public var interface: String
    public var overlay: [IPPrefix]
    public var masquerade: Bool
    /// Forwarded traffic from the interface.
    public var rules: [FirewallRule]
    /// Traffic from the interface to the gateway host (destinations are not used).
    public var hostRules: [FirewallRule]
    /// Opened on the gateway host to every peer by construction.
    public var services: [PortSpec]
    public var expiries: [FirewallExpiry]

    public init(interface: String, overlay: [IPPrefix], masquerade: Bool, rules: [FirewallRule],
                hostRules: [FirewallRule] = [], services: [PortSpec] = [], expiries: [FirewallExpiry] = []) {
        self.interface = interface
        self.overlay = overlay
        self.masquerade = masquerade
        self.rules = rules
        self.hostRules = hostRules
        self.services = services
        self.expiries = expiries
    }

    /// Nothing allowed: what a gateway without a record (or disabled) loads.
    public static func closed(interface: String, services: [PortSpec] = []) -> FirewallPlan {
        FirewallPlan(interface: interface, overlay: [], masquerade: false, rules: [], services: services)
    }

    /// The packet mark bit the table sets on everything arriving from the interface; the
    /// routing guard forwards only marked traffic (see `FirewallController.guardForwarding`).
    public static let forwardMark: UInt32 = 0x0010_0000

    /// The nftables table name for an interface (`ferry_wg0`).
    public static func tableName(_ interface: String) -> String {
        "ferry_" + String(interface.map { $0.isLetter || $0.isNumber ? $0 : "_" })
    }
}

/// Quoting for names and comments inside rule text: only a safe subset passes.
enum FirewallText {
    static func comment(_ s: String) -> String {
        let safe = s.unicodeScalars.map { c -> Character in
            let ok = c.isASCII && (c.properties.isAlphabetic || c.properties.numericType != nil
                || " .:/_->()@,+=".unicodeScalars.contains(c))
            return ok ? Character(c) : "_"
        }
        return String(String(safe).prefix(120))
    }
}

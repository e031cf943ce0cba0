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

    public init(sources: [IPPrefix], destinations: [IPPrefix]?, excluding: [IPPrefix] = [], action: Action, comment: String) {
        self.sources = sources
        self.destinations = destinations
        self.excluding = excluding
        self.action = action
        self.comment = comment
    }

    /// True for the egress rule, which only applies to traffic leaving the overlay.
}

/// A gateway's forwarding policy, rendered as nftables or iptables.
///
/// Shape: replies of allowed connections pass; new connections from the WireGuard
/// interface pass only when a rule accepts them; everything else from it is dropped
/// (default deny, also between peers); new connections into the interface from elsewhere
/// are dropped; with masquerade, traffic from the overlay leaving through another
/// interface is source-NATed.
public struct FirewallPlan: Sendable, Equatable {
    public var interface: String
    public var overlay: [IPPrefix]
    public var masquerade: Bool
    public var rules: [FirewallRule]

    public init(interface: String, overlay: [IPPrefix], masquerade: Bool, rules: [FirewallRule]) {
        self.interface = interface
        self.overlay = overlay
        self.masquerade = masquerade
        self.rules = rules
    }

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

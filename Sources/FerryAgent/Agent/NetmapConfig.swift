import FerryCore
import Foundation
import WireGuard

/// What a network map means for this machine's interface: the WireGuard configuration
/// (own key, peers with their allowed IPs, endpoints resolved to addresses), the
/// interface's addresses and MTU, and the routes to install.
public struct InterfacePlan: Sendable, Equatable {
    public var config: WGQuickConfig
    public var addresses: [IPPrefix]
    public var mtu: Int
    /// One route per allowed prefix through the interface, default routes left out.
    public var routes: [IPPrefix]
    /// Default routes (a full tunnel): installed with policy routing, as wg-quick does.
    public var defaultRoutes: [IPPrefix]
    /// Entries whose endpoint name did not resolve (kept without an endpoint).
    public var unresolved: [String]

    /// The firewall mark of the interface's own UDP packets and the routing table of a
    /// full tunnel (wg-quick's default, 51820).
    public static let fullTunnelMark: UInt32 = 51820

    init(interface: WGQuickConfig.Interface, peers: [WGQuickConfig.Peer], mtu: Int, routes: [IPPrefix],
         defaultRoutes: [IPPrefix], unresolved: [String]) {
        var iface = interface
        // A full tunnel marks the tunnel's own packets so they escape the default route.
        iface.fwMark = defaultRoutes.isEmpty ? 0 : Self.fullTunnelMark
        config = WGQuickConfig(interface: iface, peers: peers)
        addresses = iface.addresses
        self.mtu = mtu
        self.routes = routes
        self.defaultRoutes = defaultRoutes
        self.unresolved = unresolved
    }

    /// The plan for `map`. `resolve` turns a host name into an address (DNS at run time;
    /// tests pass their own).
    public static func make(_ map: NetworkMap, privateKey: PrivateKey, listenPort: UInt16?,
                            resolve: (String) -> IPAddress? = HostResolver.resolve) -> InterfacePlan {
        var iface = WGQuickConfig.Interface()
        iface.privateKey = privateKey
        iface.listenPort = listenPort ?? map.interface.listenPort.flatMap { UInt16(exactly: $0) }
        iface.addresses = map.interface.addresses.compactMap { IPPrefix($0) }
        iface.mtu = map.interface.mtu
        var peers: [WGQuickConfig.Peer] = []
        var routes: [IPPrefix] = [], defaults: [IPPrefix] = [], unresolved: [String] = []
        var seen = Set<IPPrefix>()
        for entry in map.enabled ? map.peers : [] {
            guard let key = try? PublicKey(base64: entry.publicKey) else { continue }
            var p = WGQuickConfig.Peer(publicKey: key)
            p.allowedIPs = entry.allowedIPs.compactMap { IPPrefix($0) }.map(\.network)
            p.persistentKeepalive = entry.persistentKeepalive
            p.comment = "\(entry.role) \(entry.name)"
            if let text = entry.endpoint, let hp = HostPort(text) {
                if hp.address != nil { p.endpoint = hp }
                else if let a = resolve(hp.host) { p.endpoint = HostPort(Endpoint(address: a, port: hp.port)) }
                else { unresolved.append("\(entry.name) (\(hp.host))") }
            }
            for prefix in p.allowedIPs where seen.insert(prefix).inserted {
                if prefix.length == 0 { defaults.append(prefix) } else { routes.append(prefix) }
            }
            peers.append(p)
        }
        return InterfacePlan(interface: iface, peers: peers, mtu: map.interface.mtu, routes: routes, defaultRoutes: defaults,
                             unresolved: unresolved)
    }
}

/// Host names to addresses with getaddrinfo (the system's resolver), IPv4 first.
public enum HostResolver {
    public static func resolve(_ host: String) -> IPAddress? {
        if let a = IPAddress(host) { return a }
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_DGRAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, nil, &hints, &result) == 0, let first = result else { return nil }
        defer { freeaddrinfo(first) }
        var found: [IPAddress] = []
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let ai = cursor {
            var buffer = [CChar](repeating: 0, count: Int(NI_MAXHOST))
            if getnameinfo(ai.pointee.ai_addr, ai.pointee.ai_addrlen, &buffer, socklen_t(buffer.count), nil, 0, NI_NUMERICHOST) == 0,
               let a = IPAddress(String(cString: buffer)) {
                found.append(a)
            }
            cursor = ai.pointee.ai_next
        }
        return found.first(where: \.isIPv4) ?? found.first
    }
}

extension InterfacePlan {
    /// The plan of a wg-quick file the coordinator rendered (a CI peer reads its own
    /// config: its token may not read network maps), with this machine's key put in.
    public static func make(config: WGQuickConfig, privateKey: PrivateKey,
                            resolve: (String) -> IPAddress? = HostResolver.resolve) -> InterfacePlan {
        var c = config
        c.interface.privateKey = privateKey
        var routes: [IPPrefix] = [], defaults: [IPPrefix] = [], unresolved: [String] = []
        var seen = Set<IPPrefix>()
        for i in c.peers.indices {
            if let hp = c.peers[i].endpoint, hp.address == nil {
                if let a = resolve(hp.host) { c.peers[i].endpoint = HostPort(Endpoint(address: a, port: hp.port)) }
                else { unresolved.append(hp.host); c.peers[i].endpoint = nil }
            }
            for prefix in c.peers[i].allowedIPs.map(\.network) where seen.insert(prefix).inserted {
                if prefix.length == 0 { defaults.append(prefix) } else { routes.append(prefix) }
            }
        }
        return InterfacePlan(interface: c.interface, peers: c.peers, mtu: c.interface.mtu ?? 1420, routes: routes,
                             defaultRoutes: defaults, unresolved: unresolved)
    }
}

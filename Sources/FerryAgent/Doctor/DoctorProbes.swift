import WireGuard

/// The seams between the checks and the system: each check takes the probes it needs, the
/// command gives it the system's (`SystemProbes`), tests give it scripted ones.

/// What one don't-fragment echo request came to.
public enum PingOutcome: Sendable, Equatable {
    case reply
    case noReply
    /// Refused before it left: larger than the route's MTU here (ping's "message too long").
    case tooLarge(mtu: Int?)
    /// ping could not run or reported an error.
    case failed(String)
}

public protocol TunnelPinger: Sendable {
    /// One ICMP echo request whose whole IP packet is `packetSize` bytes, don't-fragment set,
    /// sent out through `interface`, waiting up to `timeout` for the reply.
    func ping(_ target: IPAddress, packetSize: Int, interface: String, timeout: Duration) async -> PingOutcome
}

/// Where the kernel would send a packet (`ip route get`).
public struct RouteInfo: Sendable, Equatable {
    /// The output device; nil for unreachable, blackhole and prohibit routes.
    public var device: String?
    /// The next hop, when there is one.
    public var via: String?
    /// The route type when it is not a plain unicast route (`unreachable`, `blackhole`, …).
    public var type: String?

    public init(device: String?, via: String? = nil, type: String? = nil) {
        self.device = device
        self.via = via
        self.type = type
    }
}

public protocol RouteLookup: Sendable {
    /// The route a packet to `address` takes; throws when the lookup itself fails (which
    /// `ip route get` does for addresses with no route at all).
    func route(to address: IPAddress) async throws -> RouteInfo
}

/// Reads the interface's current state again (the handshake check watches it change).
public protocol InterfaceReader: Sendable {
    func read() async throws -> UAPIDeviceStatus
}

/// What came back when one junk datagram (which WireGuard drops without a word) was sent to
/// a UDP endpoint from a scratch socket: nothing (something may listen, or a firewall drops
/// it silently), or an ICMP error.
public enum UDPPortOutcome: Sendable, Equatable {
    case silent
    /// ICMP port unreachable: nothing listens there, or a firewall rejects.
    case refused
    /// ICMP host/network unreachable, or no route from here.
    case unreachable(String)
    case failed(String)
}

public protocol UDPPortProbe: Sendable {
    func probe(_ endpoint: Endpoint, timeout: Duration) async -> UDPPortOutcome
}

/// Waiting, so tests do not wait.
public protocol DoctorSleeper: Sendable {
    func sleep(_ duration: Duration) async
}

public struct TaskSleeper: DoctorSleeper {
    public init() {}
    public func sleep(_ duration: Duration) async { try? await Task.sleep(for: duration) }
}

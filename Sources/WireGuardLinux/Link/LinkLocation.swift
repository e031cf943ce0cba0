/// Where an interface is now: its name and a descriptor of its network namespace (whoever
/// receives one closes the descriptor). An interface moved with `ip link set IF netns
/// OTHER` keeps its TUN descriptor, so the TUN can always say where it went.
public struct LinkLocation: Sendable {
    public let name: String
    public let namespace: Int32

    public init(name: String, namespace: Int32) {
        self.name = name
        self.namespace = namespace
    }
}

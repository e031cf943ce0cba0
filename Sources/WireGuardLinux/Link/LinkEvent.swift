/// What happened to the tunnel interface.
public enum LinkEvent: Equatable, Sendable, CustomStringConvertible {
    /// The interface is up and running (IFF_RUNNING): start sending.
    case up
    /// The interface went down.
    case down
    /// The MTU changed to this value.
    case mtuChanged(Int)
    /// The interface was moved to another network namespace (and is now called this there);
    /// the state found there follows as `.up`/`.down`/`.mtuChanged`.
    case moved(String)
    /// The interface was deleted (`ip link del`): ferry-wg exits, as wg-quick expects.
    case deleted

    public var description: String {
        switch self {
        case .up: "up"
        case .down: "down"
        case .mtuChanged(let mtu): "mtu \(mtu)"
        case .moved(let name): "moved to another namespace as \(name)"
        case .deleted: "deleted"
        }
    }
}

/// A source of link events for one interface: `LinkMonitor` (rtnetlink) or the events of a
/// `MemoryTUN`. One thread reads; `close` from any thread ends its wait.
public protocol LinkEventSource: AnyObject, Sendable {
    /// Blocks until the next event; nil once closed. After `.deleted` nothing follows.
    func next() -> LinkEvent?
    func close()
}

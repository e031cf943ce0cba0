import Glibc
import WireGuard

/// IPv6 zones by interface name (`[fe80::1%eth0]:51820`, as `wg set` passes them) for the
/// core's endpoint parser, resolved in the calling thread's network namespace: the one the
/// UDP sockets live in, which is where the scope must name an interface.
public enum InterfaceZones {
    /// Call once at start, before any thread parses endpoints.
    public static func install() {
        Endpoint.zoneResolver = { name in
            let index = if_nametoindex(String(name))
            return index == 0 ? nil : index
        }
    }
}

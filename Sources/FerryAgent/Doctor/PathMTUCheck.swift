import WireGuard

/// Path MTU through the tunnel: don't-fragment pings of chosen sizes out through the
/// interface to an address across it (the gateway's own). If a packet as large as the
/// interface's MTU comes back, the MTU fits. Otherwise a binary search finds the largest
/// packet that crosses, and that is the MTU to set: every packet up to it fits in one outer
/// datagram the path carries (WireGuard pads to 16 bytes, so the answer already accounts
/// for the padding, the 32-byte header and tag, and the outer UDP/IP headers).
///
/// A lost probe is tried once more before the size counts as too large.
public struct PathMTUCheck: DoctorCheck {
    public let name = "mtu"
    public var prerequisites: [String] { ["handshake"] }
    let interface: String
    let target: IPAddress?
    let mtu: Int?
    let pinger: any TunnelPinger
    /// For the fix that makes the MTU stick (the coordinator's record of this peer).
    let peerID: String?
    let probeTimeout: Duration

    public init(interface: String, target: IPAddress?, mtu: Int?, pinger: any TunnelPinger, peerID: String? = nil,
                probeTimeout: Duration = .seconds(1)) {
        self.interface = interface
        self.target = target
        self.mtu = mtu
        self.pinger = pinger
        self.peerID = peerID
        self.probeTimeout = probeTimeout
    }

    public func run() async -> DoctorResult {
        guard let target else {
            return skip("no address of the gateway's own in its AllowedIPs to ping: pass --target ADDRESS (one across the tunnel that answers ping)")
        }
        guard let mtu, mtu > 0 else { return skip("the MTU of \(interface) is unknown") }
        // The smallest size known not to cross.
        var hi = mtu
        switch await crosses(target, mtu) {
        case .crossed:
            return pass("\(mtu)-byte packets (\(interface)'s MTU) reach \(target) unfragmented", details: ["mtu": "\(mtu)", "suggestedMTU": "\(mtu)"])
        case .refusedLocally(let local):
            // The kernel knows a smaller MTU towards the target (a route's mtu): search up to it.
            if let local, local < mtu { hi = local + 1 }
        case .lost:
            break
        }
        let floor = target.isIPv4 ? 68 : 1280
        var lo = min(target.isIPv4 ? 576 : 1280, hi - 1)
        while lo >= floor, await crosses(target, lo) != .crossed {
            lo = lo == floor ? floor - 1 : max(floor, lo / 2)
        }
        guard lo >= floor else {
            return fail("not even \(floor)-byte packets reach \(target) through \(interface)",
                        fix: target.isIPv4 ? ["the path drops even small packets: check the gateway's firewall and the path (`ping -I \(interface) \(target)`)"]
                            : ["IPv6 needs 1280-byte packets: fix the path's MTU, or reach the gateway over IPv4"])
        }
        while hi - lo > 1 {
            let mid = (lo + hi) / 2
            if await crosses(target, mid) == .crossed { lo = mid } else { hi = mid }
        }
        var fix = ["set MTU = \(lo) on \(interface): `ip link set dev \(interface) mtu \(lo)` (MTU = \(lo) in its [Interface])"]
        if let peerID {
            fix.append("to keep it when `ferry up` applies the map, have an admin set this peer's MTU: PATCH /v1/peers/\(peerID) {\"mtu\":\(lo)}")
        }
        if lo < 1280 { fix.append("below 1280 the interface carries no IPv6: better raise the MTU of the path itself") }
        return fail("packets over \(lo) bytes do not reach \(target) through \(interface) (its MTU is \(mtu)): larger ones are lost on the path",
                    fix: fix, details: ["mtu": "\(mtu)", "suggestedMTU": "\(lo)", "largestPacket": "\(lo)"])
    }

    enum Crossing: Equatable {
        case crossed, lost
        case refusedLocally(Int?)
    }

    func crosses(_ target: IPAddress, _ size: Int) async -> Crossing {
        for _ in 0..<2 {
            switch await pinger.ping(target, packetSize: size, interface: interface, timeout: probeTimeout) {
            case .reply: return .crossed
            case .tooLarge(let local): return .refusedLocally(local)
            case .noReply, .failed: continue
            }
        }
        return .lost
    }
}

import FerryCore
import WireGuard

/// The endpoint answers: for each peer with an endpoint, send one ping to its own tunnel
/// address through the live interface and watch the interface. A completed handshake
/// (its time moves), received bytes, or the ping's reply within the timeout is an answer.
///
/// Why this and not a handshake of our own from a scratch socket: an initiation under this
/// interface's key would make the gateway roam our endpoint to the scratch port and replace
/// its pending session, disturbing the very tunnel being checked; one under another key
/// gets no answer at all. The live interface does a real handshake whenever it has no
/// current session, so watching it is honest: with a session, bytes coming back prove the
/// path both ways; without one, the handshake itself is the proof.
///
/// On silence, one junk datagram from a scratch socket (WireGuard drops it without a word)
/// tells "nothing listens / rejected" (ICMP port unreachable) and "no route" apart from a
/// silent drop, so the fix names the likely cause.
public struct HandshakeCheck: DoctorCheck {
    public let name = "handshake"
    let interface: String
    let peers: [MapPeer]
    let reader: any InterfaceReader
    let pinger: any TunnelPinger
    let udp: any UDPPortProbe
    let sleeper: any DoctorSleeper
    let timeout: Duration
    let nowSeconds: Int64
    static let pollInterval: Duration = .milliseconds(200)

    public init(interface: String, coordinator: CoordinatorView, reader: any InterfaceReader, pinger: any TunnelPinger,
                udp: any UDPPortProbe, sleeper: any DoctorSleeper = TaskSleeper(), timeout: Duration = .seconds(5), nowSeconds: Int64) {
        self.interface = interface
        peers = coordinator.peers.filter { $0.endpoint != nil && $0.publicKey != nil }
        self.reader = reader
        self.pinger = pinger
        self.udp = udp
        self.sleeper = sleeper
        self.timeout = timeout
        self.nowSeconds = nowSeconds
    }

    public func run() async -> DoctorResult {
        guard !peers.isEmpty else { return skip("no peer with an endpoint in the map: nothing to dial") }
        var f = Findings()
        var answered: [String] = []
        for peer in peers {
            switch await probe(peer) {
            case .answered(let how):
                answered.append("\(peer.entry.name) (\(how))")
            case .problem(let problem, let fixes):
                f.problems.append(problem)
                f.fixes += fixes
            }
        }
        guard f.problems.isEmpty else { return fail(f.problems.joined(separator: "; "), fix: f.fixes) }
        return pass("answered within \(Self.seconds(timeout)): \(answered.joined(separator: ", "))")
    }

    enum Outcome {
        case answered(String)
        case problem(String, [String])
    }

    func probe(_ peer: MapPeer) async -> Outcome {
        guard let key = peer.publicKey else { return .problem("\(peer.label) has no valid key", []) }
        let before: UAPIPeerStatus
        do {
            guard let p = try await reader.read().peers.first(where: { $0.publicKey == key }) else {
                return .problem("\(peer.label) is not on \(interface) (see keys)", ["run `ferry up`"])
            }
            before = p
        } catch {
            return .problem("cannot read \(interface): \(error)", ["run as root, and check that \(interface) exists (`ip link show \(interface)`)"])
        }
        guard let endpoint = before.endpoint else {
            let want = peer.endpoint?.description ?? "?"
            return .problem("\(peer.label) has no endpoint on \(interface)",
                            ["set Endpoint = \(want) on the [Peer] of \(peer.entry.name): `wg set \(interface) peer \(key.base64) endpoint \(want)`, or run `ferry up`"])
        }
        // A mesh peer this machine may not open connections to: the agent's own mesh table
        // drops the probe, so only the traffic that is there can speak for the path.
        if peer.entry.role == "mesh", peer.entry.outbound == false {
            return Self.byExistingTraffic(peer, before, endpoint: endpoint, nowSeconds: nowSeconds)
        }
        let target = peer.ownAddress
        async let pinged: PingOutcome? = ping(target)
        var evidence: String?
        var waited: Duration = .zero
        while evidence == nil, waited < timeout {
            await sleeper.sleep(Self.pollInterval)
            waited += Self.pollInterval
            guard let now = try? await reader.read().peers.first(where: { $0.publicKey == key }) else { continue }
            if now.lastHandshakeTimeSec > before.lastHandshakeTimeSec {
                evidence = "handshake at \(endpoint)"
            } else if now.rxBytes > before.rxBytes {
                evidence = "\(now.rxBytes - before.rxBytes) bytes back from \(endpoint) over the current session"
            }
        }
        let ping = await pinged
        if evidence == nil, ping == .reply, let target { evidence = "\(target) replied through \(endpoint)" }
        if let evidence { return .answered(evidence) }
        return await silence(peer, key: key, endpoint: endpoint, before: before, pinged: target != nil)
    }

    static func byExistingTraffic(_ peer: MapPeer, _ status: UAPIPeerStatus, endpoint: Endpoint, nowSeconds: Int64) -> Outcome {
        let age = nowSeconds - status.lastHandshakeTimeSec
        if status.lastHandshakeTimeSec > 0, age <= 180 {
            return .answered("handshake \(max(0, age)) s ago at \(endpoint) (not probed: policy lets only \(peer.entry.name) open connections)")
        }
        return .answered("not probed: policy lets only \(peer.entry.name) open connections to this machine, and it has not yet (\(status.lastHandshakeTimeSec == 0 ? "no handshake" : "last handshake \(age) s ago"))")
    }

    private func ping(_ target: IPAddress?) async -> PingOutcome? {
        guard let target else { return nil }
        return await pinger.ping(target, packetSize: 84, interface: interface, timeout: timeout)
    }

    /// Nothing came back: say since when, and what the endpoint's port did with a junk datagram.
    func silence(_ peer: MapPeer, key: PublicKey, endpoint: Endpoint, before: UAPIPeerStatus, pinged: Bool) async -> Outcome {
        let last = before.lastHandshakeTimeSec == 0 ? "never had a handshake"
            : "last handshake \(max(0, nowSeconds - before.lastHandshakeTimeSec)) s ago"
        let what = pinged ? "no handshake and no reply" : "no handshake and no traffic (no address of its own to ping)"
        var problem = "\(peer.label) at \(endpoint): \(what) within \(Self.seconds(timeout)) (\(last))"
        var fixes: [String] = []
        let whose = peer.entry.role == "gateway" ? "the gateway's" : "\(peer.entry.name)'s"
        let port = endpoint.port
        if let want = peer.endpoint, let address = want.address, Endpoint(address: address, port: want.port) != endpoint {
            problem += "; \(interface) dials \(endpoint) but the coordinator says \(want)"
            fixes.append("set Endpoint = \(want): `wg set \(interface) peer \(key.base64) endpoint \(want)`, or run `ferry up`")
        }
        switch await udp.probe(endpoint, timeout: .seconds(1)) {
        case .refused:
            problem += "; UDP port \(port) there answers port unreachable"
            fixes.append("nothing listens on UDP \(endpoint) or a firewall rejects it: check that \(whose) WireGuard runs with ListenPort = \(port) "
                         + "(`wg show` there; `ferryd serve --gateway IFNAME` brings it up), or open UDP port \(port) on \(whose) firewall")
        case .unreachable(let why):
            problem += "; \(endpoint.address) is unreachable from here (\(why))"
            fixes.append("check this machine's network and its route to \(endpoint.address) (`ip route get \(endpoint.address)`)")
        case .silent, .failed:
            fixes.append("open UDP port \(port) on \(whose) firewall (inbound to \(endpoint)) and on anything in between "
                         + "(cloud security group, corporate firewall); then check that \(whose) `wg show` lists this peer's key")
        }
        return .problem(problem, fixes)
    }

    static func seconds(_ d: Duration) -> String {
        let ms = d.components.seconds * 1000 + d.components.attoseconds / 1_000_000_000_000_000
        return ms % 1000 == 0 ? "\(ms / 1000) s" : "\(Double(ms) / 1000) s"
    }
}

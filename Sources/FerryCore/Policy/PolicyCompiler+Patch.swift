/// Patching a compiler after some peers changed, instead of compiling the whole topology
/// again: the coordinator's topology cache (FerryServer's TopologyCache) reads the changed
/// peers' rows only and patches, so one peer's map after a change costs about the same at
/// 10,000 peers as at 10.
///
/// The result equals `PolicyCompiler(topology-with-the-changes)` when the peers are in
/// `peerOrder` (as the store loads them): a peer goes back to its place in that order, so
/// every list in a map comes out as a full load would give it.
extension PolicyCompiler {
    /// A changed peer as now stored: the peer, and its gateway part if it is a gateway.
    public struct PeerChange: Sendable {
        public var peer: Peer
        public var gateway: Gateway?
        public init(peer: Peer, gateway: Gateway?) {
            self.peer = peer
            self.gateway = gateway
        }
    }

    /// The compiler after the peers `ids` changed: `current` holds those still stored (as
    /// they are now); an id without an entry there was removed. Network, segments and rules
    /// are unchanged (a change to them is a full load).
    public func patched(ids: Set<String>, current: [PeerChange]) -> PolicyCompiler {
        guard !ids.isEmpty else { return self }
        var peers = topology.peers, mesh = meshMembers
        // A topology given in another order (built by hand) is put in order first.
        if !inPeerOrder {
            peers.sort(by: Self.peerOrder)
            mesh.sort(by: Self.peerOrder)
        }
        var byID = peersByID
        for id in ids {
            guard let old = byID.removeValue(forKey: id)?.peer else { continue }
            Self.remove(old, from: &peers)
            if Self.isMeshMember(old) { Self.remove(old, from: &mesh) }
        }
        for change in current where ids.contains(change.peer.id) {
            // A row listed twice keeps its last version.
            if let old = byID[change.peer.id]?.peer {
                Self.remove(old, from: &peers)
                if Self.isMeshMember(old) { Self.remove(old, from: &mesh) }
            }
            peers.insert(change.peer, at: Self.insertionIndex(of: change.peer, in: peers))
            if Self.isMeshMember(change.peer) { mesh.insert(change.peer, at: Self.insertionIndex(of: change.peer, in: mesh)) }
            byID[change.peer.id] = PeerRef(change.peer)
        }
        var gateways = topology.gateways.filter { !ids.contains($0.peerID) }
        for change in current where ids.contains(change.peer.id) {
            if let g = change.gateway { gateways.removeAll { $0.peerID == g.peerID }; gateways.append(g) }
        }
        gateways.sort { a, b in
            switch (byID[a.peerID]?.peer, byID[b.peerID]?.peer) {
            case let (pa?, pb?): return Self.peerOrder(pa, pb)
            case (nil, nil): return a.peerID < b.peerID
            case (_?, nil): return true
            case (nil, _?): return false
            }
        }
        var next = topology
        next.peers = peers
        next.gateways = gateways
        return PolicyCompiler(next, peersByID: byID, meshMembers: mesh, inPeerOrder: true)
    }

    static func isMeshMember(_ p: Peer) -> Bool { p.mesh && p.kind != .gateway }

    /// Removes `peer` (found by its place in `peerOrder`) from a list in that order.
    static func remove(_ peer: Peer, from peers: inout [Peer]) {
        let at = insertionIndex(of: peer, in: peers)
        if at < peers.count, peers[at].id == peer.id {
            peers.remove(at: at)
        } else if let i = peers.firstIndex(where: { $0.id == peer.id }) {
            peers.remove(at: i)  // duplicate ids in a hand-built topology: never from the store
        }
    }

    /// The first index whose peer does not come before `peer` (binary search).
    static func insertionIndex(of peer: Peer, in peers: [Peer]) -> Int {
        var low = 0, high = peers.count
        while low < high {
            let mid = low + (high - low) / 2
            if peerOrder(peers[mid], peer) { low = mid + 1 } else { high = mid }
        }
        return low
    }

    static func inPeerOrder(_ peers: [Peer]) -> Bool {
        peers.indices.dropFirst().allSatisfy { peerOrder(peers[$0 - 1], peers[$0]) }
    }
}

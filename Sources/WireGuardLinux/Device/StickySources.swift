import Synchronization
import WireGuard

/// Sticky source addresses (wireguard-go's sticky sockets): replies to a peer leave from
/// the local address the peer last reached us on, not from the one the kernel's route
/// lookup would pick. On a multi-homed host (two addresses on a link, or two links) a peer
/// that talks to the second address otherwise gets answers from the first, and a NAT or
/// firewall in between drops them as unrelated.
///
/// Learned only from datagrams that authenticated (transport data and keepalives that
/// opened, handshake messages the core consumed), keyed by the peer's endpoint, so a
/// spoofed datagram cannot move a source. When the kernel refuses a source (the address
/// went away) the bind clears it in the packet and sends from a kernel-chosen address; the
/// entry is forgotten then, and the peer's next datagram teaches the new one.
final class StickySources: Sendable {
    private let table = Mutex<[Endpoint: LocalAddress]>([:])
    /// Entries beyond this (a very long run of roaming peers) empty the table: sources are
    /// learned again from the next datagrams.
    static let limit = 4096

    /// Records where authenticated datagrams from these endpoints arrived.
    func learn(_ arrivals: [(endpoint: Endpoint, local: LocalAddress)]) {
        guard !arrivals.isEmpty else { return }
        table.withLock { table in
            for a in arrivals where table[a.endpoint] != a.local {
                if table.count >= StickySources.limit { table.removeAll(keepingCapacity: true) }
                table[a.endpoint] = a.local
            }
        }
    }

    /// Sets each packet's source from the table (one lock for the batch); returns the
    /// indices of the packets that got one, for `forgetRefused`.
    func apply(to batch: PacketBatch, marking marked: inout [Int]) {
        marked.removeAll(keepingCapacity: true)
        table.withLock { table in
            guard !table.isEmpty else { return }
            // Batches are mostly runs to one peer: look each endpoint up once per run.
            var last: (endpoint: Endpoint, local: LocalAddress?)?
            for i in 0..<batch.count {
                let packet = batch[i]
                guard let endpoint = packet.endpoint else { continue }
                if last?.endpoint != endpoint { last = (endpoint, table[endpoint]) }
                guard let local = last?.local else { continue }
                packet.local = local
                marked.append(i)
            }
        }
    }

    /// After the send: the sources the kernel refused (the bind cleared them) are forgotten,
    /// unless a newer one was learned meanwhile.
    func forgetRefused(in batch: PacketBatch, marked: [Int], sources: [LocalAddress?]) {
        var refused: [(Endpoint, LocalAddress)] = []
        for (k, i) in marked.enumerated() where i < batch.count && batch[i].local == nil {
            if let endpoint = batch[i].endpoint, k < sources.count, let old = sources[k] { refused.append((endpoint, old)) }
        }
        guard !refused.isEmpty else { return }
        table.withLock { table in
            for (endpoint, old) in refused where table[endpoint] == old { table[endpoint] = nil }
        }
    }

    /// The source learned for `endpoint` (tests, logging).
    func source(for endpoint: Endpoint) -> LocalAddress? { table.withLock { $0[endpoint] } }
}

import Testing
import WireGuard
@testable import WireGuardLinux

/// The sticky-source table on its own: what is learned is applied to later datagrams to
/// the same endpoint; a source the send path refused is forgotten unless a newer one came.
@Suite struct StickySourcesTests {
    let peer = Endpoint(address: .v4(IPv4Address(192, 0, 2, 2)), port: 51820)
    let other = Endpoint(address: .v4(IPv4Address(192, 0, 2, 3)), port: 51820)
    let first = LocalAddress(address: .v4(IPv4Address(192, 0, 2, 1)), interfaceIndex: 3)
    let second = LocalAddress(address: .v4(IPv4Address(192, 0, 2, 11)), interfaceIndex: 3)

    private func batch(_ pool: PacketBufferPool, to endpoints: [Endpoint]) throws -> PacketBatch {
        let batch = PacketBatch(pool: pool, capacity: endpoints.count)
        for e in endpoints {
            let b = try #require(pool.take())
            b.endpoint = e
            batch.append(b)
        }
        return batch
    }

    @Test func learnedSourcesAreAppliedPerEndpoint() throws {
        let sticky = StickySources(), pool = PacketBufferPool(slotCount: 8, slotSize: 256)
        sticky.learn([(peer, first)])
        let b = try batch(pool, to: [peer, other, peer])
        defer { b.releaseAll() }
        var marked: [Int] = []
        sticky.apply(to: b, marking: &marked)
        #expect(marked == [0, 2])
        #expect(b[0].local == first && b[2].local == first && b[1].local == nil)
        sticky.learn([(peer, second)])
        sticky.apply(to: b, marking: &marked)
        #expect(b[0].local == second)
    }

    @Test func aRefusedSourceIsForgottenUnlessReplaced() throws {
        let sticky = StickySources(), pool = PacketBufferPool(slotCount: 8, slotSize: 256)
        sticky.learn([(peer, first), (other, first)])
        let b = try batch(pool, to: [peer, other])
        defer { b.releaseAll() }
        var marked: [Int] = []
        sticky.apply(to: b, marking: &marked)
        let sources = marked.map { b[$0].local }
        // The send path cleared both (the address went away); meanwhile `other` was heard
        // from a new address.
        b[0].local = nil
        b[1].local = nil
        sticky.learn([(other, second)])
        sticky.forgetRefused(in: b, marked: marked, sources: sources)
        #expect(sticky.source(for: peer) == nil)
        #expect(sticky.source(for: other) == second)
    }
}

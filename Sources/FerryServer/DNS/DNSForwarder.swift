import FerryCore
import FerryDNS
import Logging
import NIOCore
import NIOPosix

/// Sends a query outside the zone to the network's upstream resolvers over UDP, one after
/// the other, each with a deadline, and returns the first reply that answers it (same
/// id, a response, from the resolver asked). A query that came over TCP whose UDP answer
/// is truncated is asked again over TCP, so the client gets the whole answer.
struct DNSForwarder: Sendable {
    let timeout: Duration
    let logger: Logger

    init(timeout: Duration = .seconds(2), logger: Logger) {
        self.timeout = timeout
        self.logger = logger
    }

    func forward(_ query: [UInt8], id: UInt16, to upstreams: [HostPort], overTCP: Bool = false) async -> [UInt8]? {
        for upstream in upstreams {
            guard let address = upstream.address,
                  let remote = try? SocketAddress(ipAddress: address.description, port: Int(upstream.port)) else { continue }
            do {
                if let reply = try await withDeadline(timeout, { try await ask(query, id: id, remote: remote, v4: address.isIPv4) }) {
                    if overTCP, DNSMessage.header(of: reply)?.flags.truncated == true,
                       let whole = try? await withDeadline(timeout, { try await askTCP(query, id: id, remote: remote) }) {
                        return whole
                    }
                    return reply
                }
            } catch {
                logger.debug("dns: upstream failed", metadata: ["upstream": .string(upstream.description), "error": .string("\(error)")])
            }
        }
        return nil
    }

    private func ask(_ query: [UInt8], id: UInt16, remote: SocketAddress, v4: Bool) async throws -> [UInt8]? {
        let channel = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: v4 ? "0.0.0.0" : "::", port: 0) { ch in
                ch.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<AddressedEnvelope<ByteBuffer>, AddressedEnvelope<ByteBuffer>>(wrappingChannelSynchronously: ch)
                }
            }
        return try await channel.executeThenClose { inbound, outbound in
            try await outbound.write(AddressedEnvelope(remoteAddress: remote, data: ByteBuffer(bytes: query)))
            for try await envelope in inbound where envelope.remoteAddress == remote {
                let bytes = Array(buffer: envelope.data)
                if let h = DNSMessage.header(of: bytes), h.id == id, h.flags.isResponse { return bytes }
            }
            return nil
        }
    }
}

extension DNSForwarder {
    /// One query over TCP (RFC 7766 framing): the reply if it answers it.
    private func askTCP(_ query: [UInt8], id: UInt16, remote: SocketAddress) async throws -> [UInt8]? {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(to: remote) { ch in
                ch.eventLoop.makeCompletedFuture { try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: ch) }
            }
        return try await channel.executeThenClose { inbound, outbound in
            try await outbound.write(ByteBuffer(bytes: DNSTCPFramer.frame(query)))
            var framer = DNSTCPFramer()
            for try await chunk in inbound {
                framer.append(chunk.readableBytesView)
                guard let reply = framer.next() else { continue }
                guard let h = DNSMessage.header(of: reply), h.id == id, h.flags.isResponse else { return nil }
                return reply
            }
            return nil
        }
    }
}

/// Runs `body` and gives up after `limit` (nil), cancelling it.
func withDeadline<T: Sendable>(_ limit: Duration, _ body: @escaping @Sendable () async throws -> T?) async throws -> T? {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await body() }
        group.addTask { try await Task.sleep(for: limit); return nil }
        defer { group.cancelAll() }
        return try await group.next() ?? nil
    }
}

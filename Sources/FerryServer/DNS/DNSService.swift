import FerryCore
import FerryDNS
import GRDB
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization
import WireGuard

/// ferryd's DNS server: UDP and TCP on port 53 of the local gateway's overlay address
/// (followed as the store changes: the gateway may be created after ferryd starts, and its
/// address appears on the interface only once the gateway sync has run), and on any
/// `--dns-listen` addresses. Every query is answered by `DNSResponder`.
public struct DNSService: Service {
    let store: FerryStore
    let listen: [HostPort]
    let followGateway: Bool
    let port: UInt16
    let logger: Logger

    public init(store: FerryStore, listen: [HostPort], followGateway: Bool, port: UInt16 = 53, logger: Logger) {
        self.store = store
        self.listen = listen
        self.followGateway = followGateway
        self.port = port
        self.logger = logger
    }

    public func run() async throws {
        let responder = DNSResponder(store: store, forwarder: DNSForwarder(logger: logger), logger: logger)
        do {
            try await cancelWhenGracefulShutdown {
                try await withThrowingDiscardingTaskGroup { group in
                    for hp in listen {
                        group.addTask { await serveRetrying(hp, responder) }
                    }
                    if followGateway { group.addTask { try await followLocalGateway(responder) } }
                }
            }
        } catch is CancellationError {}
    }

    /// Serves on the local gateway's overlay address, moving when it changes.
    private func followLocalGateway(_ responder: DNSResponder) async throws {
        var current: HostPort?
        var task: Task<Void, Never>?
        defer { task?.cancel() }
        while !Task.isCancelled {
            let revision = store.changes.revision
            let wanted = try? await store.localGatewayAddress().flatMap { HostPort(host: $0.description, port: port) }
            if wanted != current {
                task?.cancel()
                if let old = task { await old.value }
                current = wanted
                task = wanted.map { hp in Task { await serveRetrying(hp, responder) } }
            }
            await store.changes.wait(after: revision, timeout: .seconds(5))
        }
    }

    /// Binds (retrying each second: the address may not be on an interface yet) and serves.
    private func serveRetrying(_ hp: HostPort, _ responder: DNSResponder) async {
        var warned = false
        while !Task.isCancelled {
            do {
                try await serve(hp, responder)
                return
            } catch where !Task.isCancelled {
                if !warned { logger.notice("dns: cannot serve on \(hp) yet; retrying", metadata: ["error": .string("\(error)")]) }
                warned = true
                try? await Task.sleep(for: .seconds(1))
            } catch { return }
        }
    }

    private func serve(_ hp: HostPort, _ responder: DNSResponder) async throws {
        let group = MultiThreadedEventLoopGroup.singleton
        let udp = try await DatagramBootstrap(group: group)
            .channelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .bind(host: hp.host, port: Int(hp.port)) { ch in
                ch.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<AddressedEnvelope<ByteBuffer>, AddressedEnvelope<ByteBuffer>>(wrappingChannelSynchronously: ch)
                }
            }
        let tcp: NIOAsyncChannel<NIOAsyncChannel<ByteBuffer, ByteBuffer>, Never>
        do {
            tcp = try await ServerBootstrap(group: group)
                .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
                .bind(host: hp.host, port: Int(hp.port)) { ch in
                    ch.eventLoop.makeCompletedFuture { try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: ch) }
                }
        } catch {
            try? await udp.channel.close()
            throw error
        }
        logger.info("dns: serving the zone on \(hp) (UDP and TCP)")
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { try await serveUDP(udp, responder) }
            group.addTask { try await serveTCP(tcp, responder) }
        }
    }

    /// At most this many queries in flight on UDP (forwarded ones wait on upstreams);
    /// beyond it queries are dropped, as a loaded resolver does.
    static let maxInFlight = 512

    private func serveUDP(_ channel: NIOAsyncChannel<AddressedEnvelope<ByteBuffer>, AddressedEnvelope<ByteBuffer>>,
                          _ responder: DNSResponder) async throws {
        let inFlight = InFlightCount()
        try await channel.executeThenClose { inbound, outbound in
            try await withThrowingDiscardingTaskGroup { group in
                for try await envelope in inbound {
                    guard let client = envelope.remoteAddress.ipAddress.flatMap({ IPAddress($0) }) else { continue }
                    guard inFlight.value.add(1, ordering: .relaxed).newValue <= Self.maxInFlight else {
                        inFlight.value.subtract(1, ordering: .relaxed)
                        continue
                    }
                    let bytes = Array(buffer: envelope.data)
                    group.addTask {
                        defer { inFlight.value.subtract(1, ordering: .relaxed) }
                        guard let reply = await responder.respond(bytes, from: client, over: .udp) else { return }
                        try? await outbound.write(AddressedEnvelope(remoteAddress: envelope.remoteAddress, data: ByteBuffer(bytes: reply)))
                    }
                }
            }
        }
    }

    /// A TCP connection may carry several queries (RFC 7766); it is closed after 10 seconds
    /// so idle or trickling clients cannot hold it.
    private func serveTCP(_ server: NIOAsyncChannel<NIOAsyncChannel<ByteBuffer, ByteBuffer>, Never>, _ responder: DNSResponder) async throws {
        try await server.executeThenClose { connections in
            try await withThrowingDiscardingTaskGroup { group in
                for try await connection in connections {
                    group.addTask {
                        guard let client = connection.channel.remoteAddress?.ipAddress.flatMap({ IPAddress($0) }) else {
                            try? await connection.channel.close()
                            return
                        }
                        _ = try? await withDeadline(.seconds(10)) {
                            try await connection.executeThenClose { input, output in
                                var framer = DNSTCPFramer()
                                for try await chunk in input {
                                    framer.append(chunk.readableBytesView)
                                    while let query = framer.next() {
                                        guard let reply = await responder.respond(query, from: client, over: .tcp) else { return true }
                                        try await output.write(ByteBuffer(bytes: DNSTCPFramer.frame(reply)))
                                    }
                                }
                                return true
                            }
                        }
                    }
                }
            }
        }
    }
}

/// A shared count (Atomic itself cannot be captured by escaping closures).
final class InFlightCount: Sendable {
    let value = Atomic<Int>(0)
}

extension FerryStore {
    /// The overlay address of the gateway ferryd runs (`--gateway`), once it exists.
    func localGatewayAddress() async throws -> IPAddress? {
        try await read { try $0.localGatewayAddress().map { .v4($0) } }
    }
}

import HTTPTypes
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import NIOCore
import NIOHTTPTypes

/// First in every connection's pipeline (before TLS): registers the connection with the
/// `ConnectionRegistry` (which may close an older idle one, or refuse this one), notes
/// the first bytes of a request, and tells the registry when the client goes away.
final class ConnectionGuardHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    let registry: ConnectionRegistry
    private var registered = false

    init(registry: ConnectionRegistry) { self.registry = registry }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { register(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        register(context)
        context.fireChannelActive()
    }

    private func register(_ context: ChannelHandlerContext) {
        guard !registered else { return }
        registered = true
        if !registry.opened(context.channel) { context.close(promise: nil) }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        registry.bytesArrived(context.channel)
        context.fireChannelRead(data)
    }

    func channelInactive(context: ChannelHandlerContext) {
        registry.disconnected(context.channel, closed: true)
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let e = event as? ChannelEvent, e == .inputClosed {
            registry.disconnected(context.channel, closed: false)
        }
        context.fireUserInboundEventTriggered(event)
    }
}

/// After HTTP decoding: a request's head ends its header phase, its end starts the
/// answer, the response's end makes the connection idle again.
final class RequestPhaseHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    let registry: ConnectionRegistry

    init(registry: ConnectionRegistry) { self.registry = registry }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            registry.setPhase(context.channel, .body, request: "\(head.method.rawValue) \(head.path ?? "")")
        case .end:
            registry.setPhase(context.channel, .handling)
        case .body:
            break
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) { registry.setPhase(context.channel, .idle) }
        context.write(data, promise: promise)
    }
}

/// A child channel (HTTP/1, with or without TLS) with the connection guard in front.
struct GuardedChannel<Base: ServerChildChannel>: ServerChildChannel {
    typealias Value = Base.Value
    let base: Base
    let registry: ConnectionRegistry

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(ConnectionGuardHandler(registry: registry), position: .first)
        }.flatMap {
            base.setup(channel: channel, logger: logger)
        }
    }

    func handle(value: Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}

extension HTTPServerBuilder {
    /// HTTP/1 (over TLS when given) with ferryd's connection limits; `handlers` go after
    /// the HTTP codec, before the request-phase tracker.
    static func guarded(_ registry: ConnectionRegistry, tls: TLSConfiguration?,
                        handlers: @autoclosure @escaping @Sendable () -> [any RemovableChannelHandler] = []) -> HTTPServerBuilder {
        HTTPServerBuilder { responder in
            // Hummingbird's own idle timeout stays off: the registry's sweep covers idle,
            // header and body time in one place.
            let http = HTTP1Channel(responder: responder,
                                    configuration: .init(additionalChannelHandlers: handlers() + [RequestPhaseHandler(registry: registry)]))
            if let tls { return GuardedChannel(base: try TLSChannel(http, tlsConfiguration: tls), registry: registry) }
            return GuardedChannel(base: http, registry: registry)
        }
    }
}

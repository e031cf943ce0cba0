import NIOCore
import NIOHTTP1

/// An HTTP/1.0 request without `Connection: keep-alive` (and any request with `Connection:
/// close`) ends its connection after the response, as RFC 9112 §9.3 says. Hummingbird sees
/// requests only after their version is gone (swift-http-types has none) and keeps every
/// connection open unless the request says `Connection: close`; so this rule, placed right
/// after NIO's request decoder where the version is still known, says it for them.
final class HTTP10CloseRule: ChannelInboundHandler, RemovableChannelHandler, Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var part = unwrapInboundIn(data)
        if case .head(var head) = part, !head.isKeepAlive {
            head.headers.replaceOrAdd(name: "connection", value: "close")
            part = .head(head)
        }
        context.fireChannelRead(wrapInboundOut(part))
    }
}

/// Hummingbird adds its extra handlers after its HTTP-types codec; this one, added there,
/// puts `HTTP10CloseRule` where it must be (after NIO's request decoder) and otherwise
/// passes everything through.
final class HTTP10CloseInstaller: ChannelInboundHandler, RemovableChannelHandler, Sendable {
    // Passes every part through untouched (the default channelRead).
    typealias InboundIn = Any

    func handlerAdded(context: ChannelHandlerContext) {
        let ops = context.pipeline.syncOperations
        if let decoder = try? ops.context(handlerType: ByteToMessageHandler<HTTPRequestDecoder>.self) {
            try? ops.addHandler(HTTP10CloseRule(), position: .after(decoder.handler))
        }
    }
}

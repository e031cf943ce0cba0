import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// One HTTP/1.1 request per connection over SwiftNIO, with TLS that can trust exactly one
/// certificate: a pinned connection accepts the server only if the SHA-256 of the leaf
/// certificate it presents is the pinned one (checked in swift-nio-ssl's verification
/// callback, before a byte of the request is sent), whatever CA signed it and whatever
/// its key usage says. (AsyncHTTPClient and URLSession can only add trust roots, and
/// BoringSSL does not accept ferryd's self-signed certificate, which may not sign, as its
/// own root.) Without a pin, https:// uses the system's trust store and checks the name.
struct HTTPTransport: Sendable {
    let scheme: String
    let host: String
    let port: Int
    /// `AA:BB:...` of the only certificate to accept.
    let pinnedFingerprint: String?
    /// SO_MARK for the connections (CAP_NET_ADMIN): the agent's own traffic is marked like
    /// its tunnel's packets, so a full tunnel's policy routing lets it bypass the tunnel.
    let socketMark: UInt32?
    let context: NIOSSLContext?

    /// How long a connection may take to open.
    let connectTimeout: TimeAmount
    /// TCP keepalive probes after 2 s idle, every second, two unanswered ones end the
    /// connection (and unacknowledged data after 4 s): a coordinator that went silent is
    /// noticed in a few seconds, also during a long poll (with several coordinators).
    let keepaliveProbe: Bool
    /// With it, an exchange fails when nothing arrives for this long once connected (no
    /// TLS handshake, no head, no body byte): a coordinator that hangs while the kernel
    /// still acknowledges is left in seconds. Long polls then ask for heartbeats
    /// (`Prefer: heartbeat`, a newline a second from ferryd) so a wait is not silence.
    let stallTimeout: TimeAmount?

    init(url: URL, pinnedFingerprint: String?, socketMark: UInt32? = nil, connectTimeout: TimeAmount = .seconds(5),
         keepaliveProbe: Bool = false, stallTimeout: TimeAmount? = nil) throws {
        self.socketMark = socketMark
        self.stallTimeout = stallTimeout
        self.connectTimeout = connectTimeout
        self.keepaliveProbe = keepaliveProbe
        scheme = url.scheme ?? "http"
        host = url.host ?? "localhost"
        port = url.port ?? (scheme == "https" ? 443 : 80)
        self.pinnedFingerprint = pinnedFingerprint
        if scheme == "https" {
            var tls = TLSConfiguration.makeClientConfiguration()
            // With a pin the callback decides (and it runs only when verification is on).
            if pinnedFingerprint != nil { tls.certificateVerification = .noHostnameVerification }
            context = try NIOSSLContext(configuration: tls)
        } else {
            context = nil
        }
    }

    struct Timeout: Error, CustomStringConvertible {
        var description: String { "timed out" }
    }

    /// Sends the request and collects the whole answer; `onHead` sees the response's head
    /// (`ferry doctor` reads the `Date` header). `watchSilence`: whether `stallTimeout`
    /// applies (a request that may change something is not cut, and so not repeated at the
    /// next coordinator, for a mere silence: only its `timeout` ends it).
    func exchange(method: HTTPMethod, target: String, headers: [(String, String)], body: Data?,
                  timeout: TimeAmount, watchSilence: Bool = true,
                  onHead: (@Sendable (HTTPResponseHead) -> Void)? = nil) async throws -> (status: Int, body: Data) {
        let group = MultiThreadedEventLoopGroup.singleton
        let loop = group.next()
        let promise = loop.makePromise(of: (Int, Data).self)
        let collector = ResponseCollector(promise: promise, onHead: onHead)
        let context = self.context, pin = pinnedFingerprint
        let serverName = IPAddressText.isLiteral(host) ? nil : host
        let channel: any Channel
        do {
            var bootstrap = ClientBootstrap(group: loop).connectTimeout(connectTimeout)
            if keepaliveProbe {
                let tcp = NIOBSDSocket.OptionLevel(rawValue: Int32(IPPROTO_TCP))
                bootstrap = bootstrap.channelOption(.socketOption(.so_keepalive), value: 1)
                    .channelOption(ChannelOptions.Types.SocketOption(level: tcp, name: NIOBSDSocket.Option(rawValue: 4)), value: 2)   // TCP_KEEPIDLE
                    .channelOption(ChannelOptions.Types.SocketOption(level: tcp, name: NIOBSDSocket.Option(rawValue: 5)), value: 1)   // TCP_KEEPINTVL
                    .channelOption(ChannelOptions.Types.SocketOption(level: tcp, name: NIOBSDSocket.Option(rawValue: 6)), value: 2)   // TCP_KEEPCNT
                    .channelOption(ChannelOptions.Types.SocketOption(level: tcp, name: NIOBSDSocket.Option(rawValue: 18)), value: 4000) // TCP_USER_TIMEOUT (ms)
            }
            if let socketMark {
                bootstrap = bootstrap.channelOption(.socketOption(NIOBSDSocket.Option(rawValue: 36)),  // SO_MARK (Linux)
                                                    value: SocketOptionValue(socketMark))
            }
            channel = try await bootstrap
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let context {
                        let tls: NIOSSLClientHandler
                        if let pin {
                            tls = try NIOSSLClientHandler(context: context, serverHostname: serverName) { chain, result in
                                let der = chain.first.flatMap { try? $0.toDERBytes() }
                                result.succeed(der.map(CertificatePin.fingerprint(der:)) == pin ? .certificateVerified : .failed)
                            }
                        } else {
                            tls = try NIOSSLClientHandler(context: context, serverHostname: serverName)
                        }
                        try channel.pipeline.syncOperations.addHandler(tls)
                    }
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(collector)
                }
            }
            .connect(host: host, port: port).get()
        } catch {
            collector.fail(error)
            throw error
        }
        let deadline = loop.scheduleTask(in: timeout) {
            collector.fail(Timeout())
            channel.close(promise: nil)
        }
        defer { deadline.cancel() }
        let watchdog = (watchSilence ? stallTimeout : nil).map { stall in
            collector.heard()
            return loop.scheduleRepeatedTask(initialDelay: .milliseconds(250), delay: .milliseconds(250)) { _ in
                if collector.silence() > stall {
                    collector.fail(Timeout())
                    channel.close(promise: nil)
                }
            }
        }
        defer { watchdog?.cancel() }
        var head = HTTPRequestHead(version: .http1_1, method: method, uri: target)
        head.headers.add(name: "Host", value: IPAddressText.isLiteral(host) && host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)")
        head.headers.add(name: "Connection", value: "close")
        head.headers.add(name: "Content-Length", value: String(body?.count ?? 0))
        for (k, v) in headers { head.headers.add(name: k, value: v) }
        channel.write(HTTPClientRequestPart.head(head), promise: nil)
        if let body, !body.isEmpty { channel.write(HTTPClientRequestPart.body(.byteBuffer(ByteBuffer(bytes: body))), promise: nil) }
        channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
        do {
            // A cancelled task (the agent stopping during a long poll) closes the connection.
            let result = try await withTaskCancellationHandler {
                try await promise.futureResult.get()
            } onCancel: {
                collector.fail(CancellationError())
                channel.close(promise: nil)
            }
            channel.close(promise: nil)
            return result
        } catch {
            channel.close(promise: nil)
            throw error
        }
    }
}

/// Collects one response; fails on an error or a connection that ends before it.
private final class ResponseCollector: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPClientResponsePart
    private let promise: EventLoopPromise<(Int, Data)>
    private var status = 0
    private var body = ByteBuffer()
    private var done = false
    private var lastHeard = NIODeadline.now()
    private let lock = NSLock()
    static let limit = 64 << 20

    private let onHead: (@Sendable (HTTPResponseHead) -> Void)?

    init(promise: EventLoopPromise<(Int, Data)>, onHead: (@Sendable (HTTPResponseHead) -> Void)? = nil) {
        self.promise = promise
        self.onHead = onHead
    }

    private func finish(_ result: Result<(Int, Data), any Error>) {
        lock.lock()
        let first = !done
        done = true
        lock.unlock()
        if first { promise.completeWith(result) }
    }

    func fail(_ error: any Error) { finish(.failure(error)) }

    /// Something arrived (or the clock starts).
    func heard() {
        lock.lock()
        lastHeard = .now()
        lock.unlock()
    }

    /// How long nothing has arrived.
    func silence() -> TimeAmount {
        lock.lock()
        defer { lock.unlock() }
        return .now() - lastHeard
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        heard()
        switch unwrapInboundIn(data) {
        case .head(let h):
            status = Int(h.status.code)
            onHead?(h)
        case .body(var b):
            guard body.readableBytes + b.readableBytes <= Self.limit else {
                finish(.failure(ChannelError.inputClosed))
                context.close(promise: nil)
                return
            }
            body.writeBuffer(&b)
        case .end: finish(.success((status, Data(body.readableBytesView))))
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        finish(.failure(error))
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        finish(.failure(ChannelError.eof))
        context.fireChannelInactive()
    }
}

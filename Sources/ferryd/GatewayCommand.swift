import ArgumentParser
import FerryAgent
import FerryCore
import FerryServer
import FerrySystem
import Foundation
import Logging
import ServiceLifecycle
import WireGuard

/// `ferryd gateway`: a gateway host that is not the coordinator (docs/deploy.md, "Two
/// gateways"). It keeps its WireGuard interface and nftables firewall equal to its
/// gateway's map at the coordinator, through the same converger as `ferryd serve --gateway`,
/// and sends a heartbeat every second; with several gateways for one subnet the coordinator
/// moves agents to the next when the heartbeats stop.
struct GatewayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gateway",
        abstract: "Run a gateway host that follows a coordinator elsewhere (a gateway-scoped token).")

    @Option(help: "The coordinator's URL, e.g. https://ferry.example.com:8443 (repeat for replicas of one network: used in order, the next within seconds when one stops answering).")
    var coordinator: [String] = []

    @Option(name: .customLong("token-file"), help: "A file holding the gateway's token (POST /v1/gateways/{id}/token; `ferry gateways token NAME`).")
    var tokenFile: String?

    @Option(help: "SHA-256 fingerprint of the coordinator's TLS certificate, pinned (with https; one for all URLs, or one per --coordinator in order).")
    var fingerprint: [String] = []

    @Option(help: "The WireGuard interface this host keeps.")
    var interface: String = "wg0"

    @Option(help: "Folder of the gateway's private key, gateway-IFNAME.key (generated there on first start, 0600).")
    var state: String = "/var/lib/ferry-gateway"

    @Option(help: "The gateway's id at the coordinator, the one its token is bound to (`ferry gateways ls`).")
    var id: String?

    @Flag(name: .customLong("print-public-key"), help: "Print the public key (generating the key if needed) and exit: register it with `ferry gateways add NAME --public-key KEY`.")
    var printPublicKey = false

    @Option(name: .customLong("health-listen"), help: ArgumentHelp("Serve GET /health and GET /metrics over plain HTTP without a token here (IP:PORT, e.g. 127.0.0.1:9101; off unless given). Keep it on loopback or a shielded pod address.", valueName: "IP:PORT"))
    var healthListen: String?

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    func validate() throws {
        guard InterfaceName.isPlain(interface) else { throw ValidationError("--interface: \(InterfaceName.problem(interface))") }
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("--log-level: unknown level") }
        if let h = healthListen, HostPort(h)?.address == nil {
            throw ValidationError("--health-listen must be IP:PORT (e.g. 127.0.0.1:9101), got '\(h)'")
        }
        if !printPublicKey {
            guard !coordinator.isEmpty else { throw ValidationError("--coordinator URL is required") }
            guard fingerprint.count <= 1 || fingerprint.count == coordinator.count else {
                throw ValidationError("give one --fingerprint for all --coordinator URLs, or one for each in order")
            }
            guard tokenFile != nil else { throw ValidationError("--token-file is required") }
            guard id != nil else { throw ValidationError("--id is required (the gateway's id, as `ferry gateways ls` shows it)") }
        }
    }

    func run() async throws {
        let dir = URL(fileURLWithPath: state)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let keys = try LocalGatewayKeys(directory: dir, interface: interface, gatewayName: interface)
        if printPublicKey {
            print(keys.publicKey.base64)
            return
        }
        guard !coordinator.isEmpty, let tokenFile, let gatewayID = id else { throw ValidationError("--coordinator, --token-file and --id are required") }
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var h = StreamLogHandler.standardError(label: label)
            h.logLevel = level
            return h
        }
        let logger = Logger(label: "ferryd-gateway")
        let token = try String(contentsOfFile: tokenFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        guard !token.isEmpty else { throw ValidationError("\(tokenFile) is empty") }
        var list: [(url: String, pinnedCertificatePEM: String?)] = []
        for (i, url) in coordinator.enumerated() {
            let pin = fingerprint.count == coordinator.count ? fingerprint[i] : fingerprint.first
            list.append((url, try await pin.asyncPEM(url)))
        }
        // Short timeouts: a heartbeat that waits longer than the coordinator's down-after is worthless.
        let client = try CoordinatorClient(coordinators: list, token: token, timeout: 3)
        let upstream = GatewayUpstreamClient(client: client, gatewayID: gatewayID, interface: interface)
        print("ferryd gateway: interface \(interface), public key \(keys.publicKey.base64), gateway \(gatewayID) at \(client.urls.joined(separator: ", "))")
        let scratch = dir.appendingPathComponent("run")
        let metrics = FerryMetrics(), status = RemoteGatewayStatus()
        let gateway = RemoteGateway(upstream: upstream, privateKey: keys.privateKey,
                                    interface: SystemInterface(name: interface, scratch: scratch), firewall: NFTFirewall(),
                                    metrics: metrics, logger: logger, status: status)
        var services: [any Service] = [gateway]
        if let text = healthListen, let listen = HostPort(text) {
            services.append(GatewayHealthListener.application(listen: listen, status: status, metrics: metrics, logger: logger) {
                print("ferryd gateway: health and metrics on http://\(listen)/health and /metrics")
            })
        }
        let group = ServiceGroup(configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}

/// `GatewayUpstream` over the agent's pinned HTTPS client.
struct GatewayUpstreamClient: GatewayUpstream {
    let client: CoordinatorClient
    let gatewayID: String
    let interface: String

    func map(since: Int64?, wait: Int) async throws -> NetworkMap? {
        try await client.netmap(peerID: gatewayID, since: since, wait: wait, interface: interface)
    }

    func heartbeat(_ request: GatewayHeartbeatRequest) async throws -> GatewayHeartbeatResponse {
        // With replicas, 1.5 s per replica: one that hangs is passed over and the heartbeat
        // still lands within the coordinator's default --gateway-down-after of 3 s (sent
        // every second), so moving off a hung replica does not mark the gateway down.
        try await client.call(.POST, "/v1/gateways/\(CoordinatorClient.escape(gatewayID))/heartbeat", body: request,
                              within: client.urls.count > 1 ? .milliseconds(1500) : nil)
    }

    var coordinator: String? { client.baseURL }
}

extension Optional where Wrapped == String {
    /// The certificate of `url`, checked against this fingerprint; nil without one.
    func asyncPEM(_ url: String) async throws -> String? {
        guard let fingerprint = self else { return nil }
        return try await CertificatePin.fetch(url: url, fingerprint: fingerprint)
    }
}

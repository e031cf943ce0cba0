import ArgumentParser
import FerryCore
import FerryServer
import Foundation
import Hummingbird
import Logging
import WireGuard

/// ferryd: the coordinator of a Ferry network.
@main
struct Ferryd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ferryd",
        abstract: "The coordinator of a Ferry network: REST API, store, policy, gateway.",
        version: ferryVersion,
        subcommands: [Serve.self, Token.self, Check.self, QR.self, GatewayCommand.self],
        defaultSubcommand: Serve.self)
}


struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the coordinator.")

    @Option(help: "Folder for the database, keys and TLS material (created 0700).")
    var data: String

    @OptionGroup var database: DatabaseOption

    @Option(help: "Address and port to listen on (loopback unless told otherwise).")
    var listen: String = "127.0.0.1:8080"

    @Option(help: "Keep this local WireGuard interface and its firewall equal to the store.")
    var gateway: String?

    @Option(name: .customLong("gateway-name"), help: "The gateway record the local interface serves (default: the interface name).")
    var gatewayName: String?

    @Option(name: .customLong("gateway-key-rotation"), help: "Rotate the local gateway key when older than this (e.g. 30d).")
    var gatewayKeyRotation: String?

    @Option(help: "TLS: 'auto' for a self-signed certificate kept under --data.")
    var tls: String?

    @Option(name: .customLong("tls-name"), help: ArgumentHelp("A host name or address clients use, put in the --tls auto certificate (repeatable; the listen address, loopback and, for 0.0.0.0, this host's addresses and name are always in it).", valueName: "NAME"))
    var tlsNames: [String] = []

    @Option(name: .customLong("tls-cert"), help: "TLS certificate chain (PEM).")
    var tlsCert: String?

    @Option(name: .customLong("tls-key"), help: "TLS private key (PEM).")
    var tlsKey: String?

    @Option(name: .customLong("reaper-period"), help: "How often expired ephemeral peers are removed.")
    var reaperPeriod: String = "1s"

    @Option(help: "IPv4 prefix of the network on first start.")
    var network: String = "10.10.0.0/16"

    @Option(help: "IPv6 ULA prefix of the network on first start (default: random fdXX:XXXX:XXXX::/48).")
    var network6: String?

    @Flag(name: .customLong("metrics-token"), help: "Serve /metrics only to an admin or read-only bearer token, also on loopback (beyond loopback that is the default).")
    var metricsToken = false

    @Flag(name: .customLong("metrics-open"), help: "Serve /metrics without a token beyond loopback too (it names every peer, key and allowed IP).")
    var metricsOpen = false

    @Option(name: .customLong("dns-listen"), help: "Also answer DNS for the zone here (HOST:PORT, UDP and TCP; repeatable). With --gateway, DNS is served on the gateway's overlay address, port 53.")
    var dnsListen: [String] = []

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    @Option(name: .customLong("max-connections"), help: "Open HTTP connections at most (default: what the open-file limit allows, up to 16384).")
    var maxConnections: Int?

    @Option(name: .customLong("max-long-polls"), help: "Waiting long polls at most (default: three quarters of the connections).")
    var maxLongPolls: Int?

    @Option(name: .customLong("max-long-polls-per-token"), help: "Waiting long polls per token at most.")
    var maxLongPollsPerToken: Int = 16

    @Option(name: .customLong("write-rate"), help: "Writes per second per token (0: no limit).")
    var writeRate: Double = 20

    @Option(name: .customLong("write-burst"), help: "Writes a token may make at once before --write-rate applies.")
    var writeBurst: Int = 100

    @OptionGroup var oidc: OIDCServeOptions

    @OptionGroup var portal: PortalServeOptions
    @OptionGroup var failover: FailoverServeOptions

    func validate() throws {
        if let tls, tls != "auto" { throw ValidationError("--tls takes only 'auto'; give files with --tls-cert and --tls-key") }
        if (tlsCert == nil) != (tlsKey == nil) { throw ValidationError("--tls-cert and --tls-key go together") }
        if tls != nil, tlsCert != nil { throw ValidationError("--tls auto and --tls-cert exclude each other") }
        if !tlsNames.isEmpty, tls == nil { throw ValidationError("--tls-name goes with --tls auto (a certificate of your own has its own names)") }
        if metricsOpen, metricsToken { throw ValidationError("--metrics-open and --metrics-token exclude each other") }
        guard HostPort(listen) != nil else { throw ValidationError("--listen must be ADDRESS:PORT") }
        guard DurationText.milliseconds(reaperPeriod) != nil else { throw ValidationError("--reaper-period must be like 1s or 500ms") }
        if let r = gatewayKeyRotation {
            // The rotation is checked hourly: a shorter cadence could not be kept.
            guard let ms = DurationText.milliseconds(r), ms >= 3_600_000 else { throw ValidationError("--gateway-key-rotation must be like 30d, at least 1h") }
        }
        // The prefixes of a first start (later starts keep the stored ones).
        guard let v4 = IPPrefix(network), v4.address.isIPv4, v4.length <= 24 else {
            throw ValidationError("--network must be an IPv4 prefix of /24 or larger (the first segment, gateways, takes a /24)")
        }
        let v6 = try network6.map { s in
            guard let p = IPPrefix(s), !p.address.isIPv4 else { throw ValidationError("--network6 must be an IPv6 prefix") }
            return p
        }
        if let problem = AddressPlan.validate(ipv4: v4, ipv6: v6) {
            throw ValidationError("--\(problem.field == "ipv4" ? "network" : "network6"): \(problem.message)")
        }
        for d in dnsListen where HostPort(d)?.address == nil {
            throw ValidationError("--dns-listen must be IP:PORT, got '\(d)'")
        }
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("--log-level: unknown level") }
        if let maxConnections, !(16...1_000_000).contains(maxConnections) { throw ValidationError("--max-connections must be 16...1000000") }
        if let maxLongPolls, !(1...1_000_000).contains(maxLongPolls) { throw ValidationError("--max-long-polls must be 1...1000000") }
        guard (1...100_000).contains(maxLongPollsPerToken) else { throw ValidationError("--max-long-polls-per-token must be 1...100000") }
        guard writeRate.isFinite, (0...1_000_000).contains(writeRate) else { throw ValidationError("--write-rate must be 0...1000000") }
        guard (1...1_000_000).contains(writeBurst) else { throw ValidationError("--write-burst must be 1...1000000") }
        if let gateway, !InterfaceName.isPlain(gateway) {
            throw ValidationError("--gateway: \(InterfaceName.problem(gateway))")
        }
    }

    func run() async throws {
        LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
        guard let hp = HostPort(listen) else { throw ValidationError("--listen must be ADDRESS:PORT") }
        var config = FerryConfiguration(dataDirectory: URL(fileURLWithPath: data))
        config.database = try database.url()
        config.host = hp.host
        config.port = Int(hp.port)
        config.gatewayInterface = gateway
        config.gatewayName = gatewayName
        config.reaperPeriodMs = DurationText.milliseconds(reaperPeriod) ?? 1000
        let loopback = hp.host == "localhost" || hp.host.hasPrefix("127.") || hp.host == "::1"
        // Beyond loopback /metrics names every peer, key and allowed IP to whoever asks.
        config.metricsRequireToken = metricsToken || (!loopback && !metricsOpen)
        config.tlsNames = tlsNames
        config.dnsListen = dnsListen.compactMap { HostPort($0) }
        config.gatewayKeyRotationSeconds = gatewayKeyRotation.flatMap(DurationText.milliseconds).map { $0 / 1000 }
        config.logLevel = Logger.Level(rawValue: logLevel) ?? .info
        guard let v4 = IPPrefix(network), v4.address.isIPv4 else { throw ValidationError("--network must be an IPv4 prefix") }
        config.initialIPv4 = v4.network
        if let network6 {
            guard let v6 = IPPrefix(network6), !v6.address.isIPv4 else { throw ValidationError("--network6 must be an IPv6 prefix") }
            config.initialIPv6 = v6.network
        }
        if tls == "auto" { config.tls = .auto }
        try oidc.apply(to: &config)
        try portal.apply(to: &config)
        failover.apply(to: &config)
        if let tlsCert, let tlsKey { config.tls = .files(certificate: tlsCert, key: tlsKey) }
        config.limits.maxConnections = maxConnections
        config.limits.longPolls = maxLongPolls
        config.limits.longPollsPerToken = maxLongPollsPerToken
        config.limits.writeRate = writeRate
        config.limits.writeBurst = writeBurst
        // The soft open-file limit up to the hard one; the connection cap stays below it.
        let files = ServerLimits.raiseOpenFileLimit()

        let services = try await buildServices(config)
        if let secret = services.bootstrapSecret {
            say("ferryd: first start; the admin token (shown once, keep it safe):\n\n    \(secret)\n")
        }
        if let tls = services.tls {
            say("ferryd: TLS certificate SHA-256 fingerprint (pin it in clients):\n    \(tls.fingerprint)")
        }
        if let keys = services.localGateway {
            say("ferryd: gateway interface \(keys.interface), public key \(keys.publicKey.base64) (record name \(keys.gatewayName))")
        }
        if !loopback, services.tls == nil {
            say("ferryd: WARNING: no TLS on \(hp.host): bearer tokens cross the network in clear; use --tls auto or --tls-cert/--tls-key")
        }
        if !loopback {
            say(config.metricsRequireToken ? "ferryd: note: /health and /openapi.yaml need no token; /metrics needs an admin or read-only one (--metrics-open to serve it to anyone)"
                : "ferryd: WARNING: /metrics needs no token (--metrics-open) and names every peer, key and allowed IP")
        }
        let scheme = services.tls == nil ? "http" : "https"
        say("ferryd: up to \(services.connections.maxConnections) connections and \(services.longPolls.maxTotal) long polls (open-file limit \(files))")
        // Printed once the socket is bound: scripts and tests wait for this line to connect.
        let app = try buildApplication(config, services: services) { say("ferryd: listening on \(scheme)://\(hp)") }
        try await serviceGroup(app, services: services, limits: config.limits).run()
    }
}

struct Token: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Manage tokens offline.", subcommands: [Create.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create an admin token in the database (when the first one is lost).")
        @Option(help: "The data folder of ferryd.") var data: String
        @Option(help: "A name for the token.") var name: String = "admin"
        @OptionGroup var database: DatabaseOption

        func run() async throws {
            var config = FerryConfiguration(dataDirectory: URL(fileURLWithPath: data))
            config.database = try database.url()
            config.requireExistingDatabase = true
            let services = try await buildServices(config)
            say(try await services.store.createAdminToken(name: name))
        }
    }
}

struct Check: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run SQLite's integrity check on the store.")
    @Option(help: "The data folder of ferryd.") var data: String

    func run() async throws {
        var config = FerryConfiguration(dataDirectory: URL(fileURLWithPath: data))
        config.requireExistingDatabase = true
        let services = try await buildServices(config)
        guard let db = services.database else { throw ValidationError("ferryd check runs SQLite's integrity check; the store is not on SQLite") }
        let lines = try FerryDatabase.integrityCheck(db)
        say(lines.joined(separator: "\n"))
        if lines != ["ok"] { throw ExitCode(1) }
    }
}

/// Writes a line to standard output at once (stdout is block-buffered when piped, and the
/// admin token must reach a log or a script before the server runs).
func say(_ s: String) {
    FileHandle.standardOutput.write(Data((s + "\n").utf8))
}

struct QR: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "qr",
        abstract: "Show a wg-quick config (a file, or - for standard input) as a QR code for a phone.",
        discussion: "curl -s ... -d '{\"name\":\"phone\",\"segment\":\"developers\",\"generateKey\":true}' | jq -r .config | ferryd qr -")

    @Argument(help: "The wg-quick file, or - for standard input.") var file: String = "-"
    @Option(help: "Write a PNG image here instead of printing to the terminal.") var png: String?
    @Option(help: "Write an SVG image here instead of printing to the terminal.") var svg: String?
    @Flag(help: "For terminals with a light background.") var light = false

    func run() throws {
        let data = file == "-" ? FileHandle.standardInput.readDataToEndOfFile() : try Data(contentsOf: URL(fileURLWithPath: file))
        let text = String(decoding: data, as: UTF8.self)
        do { _ = try WGQuickConfig(parsing: text) } catch { throw ValidationError("not a wg-quick config: \(error)") }
        let code = try ConfigQR.qr(text)
        if let png {
            FileManager.default.createFile(atPath: png, contents: Data(code.png()), attributes: [.posixPermissions: 0o600])
        }
        if let svg {
            FileManager.default.createFile(atPath: svg, contents: Data(code.svg().utf8), attributes: [.posixPermissions: 0o600])
        }
        if png == nil, svg == nil { say(code.terminalString(background: light ? .light : .dark)) }
    }
}

/// `ferryd serve`'s OpenID Connect options: `ferry login`'s provider and claim mapping, and
/// how often an issuer's keys may be refetched (CI trust rules are in the store, not here).
/// `--database postgres://USER@HOST:PORT/DB`, or the same URL in FERRY_DATABASE_URL so a
/// password stays out of `ps`; neither: SQLite in the --data folder.
struct DatabaseOption: ParsableArguments {
    @Option(name: .customLong("database"), help: ArgumentHelp(
        "The store on PostgreSQL instead of SQLite under --data: postgres://USER@HOST:PORT/DB[?sslmode=require|verify-full&sslrootcert=FILE] (or set FERRY_DATABASE_URL, which keeps a password out of ps).",
        valueName: "URL"))
    var database: String?

    func url() throws -> DatabaseURL? {
        guard let text = database ?? ProcessInfo.processInfo.environment["FERRY_DATABASE_URL"], !text.isEmpty else { return nil }
        do { return try DatabaseURL(text) } catch { throw ValidationError("--database: \(error)") }
    }
}

struct OIDCServeOptions: ParsableArguments {
    @Option(name: .customLong("login-issuer"), help: ArgumentHelp("The identity provider for 'ferry login' (its iss URL).", valueName: "URL"))
    var loginIssuer: String?
    @Option(name: .customLong("login-client-id"), help: "The public OAuth client 'ferry login' uses (also the ID tokens' audience).")
    var loginClientID = "ferry"
    @Option(name: .customLong("login-map"), help: ArgumentHelp("A person's claims to a segment: CLAIM=PATTERN[,CLAIM=PATTERN]:SEGMENT (first match wins; repeat).", valueName: "MAP"))
    var loginMap: [String] = []
    @Option(name: .customLong("login-owner-claim"), help: "The claim naming the person (the peer's owner).")
    var loginOwnerClaim = "email"
    @Option(name: .customLong("oidc-refetch-interval"), help: "The least time between two fetches of an issuer's keys (unknown key ids trigger one).")
    var refetchInterval = "30s"

    func validate() throws {
        guard let ms = DurationText.milliseconds(refetchInterval), ms >= 100 else { throw ValidationError("--oidc-refetch-interval must be like 30s") }
        if let loginIssuer {
            guard let u = URL(string: loginIssuer), IssuerURL.isAcceptable(u) else { throw ValidationError("--login-issuer must be https (http only on loopback)") }
            if loginMap.isEmpty { throw ValidationError("--login-issuer needs at least one --login-map (e.g. --login-map 'groups=developers:developers')") }
        }
        do { _ = try ClaimSegmentMapping.parse(loginMap) } catch { throw ValidationError("--login-map: \(error.message)") }
    }

    func apply(to config: inout FerryConfiguration) throws {
        config.oidcRefetchInterval = .milliseconds(DurationText.milliseconds(refetchInterval) ?? 30_000)
        if let loginIssuer {
            config.login = LoginConfiguration(issuer: loginIssuer, clientID: loginClientID, mapping: try ClaimSegmentMapping.parse(loginMap),
                                              ownerClaim: loginOwnerClaim)
        }
    }
}


/// `ferryd serve`'s portal options (docs/portal.md): the identity provider the portal signs
/// people in with (a confidential client: the secret from a file or FERRY_PORTAL_CLIENT_SECRET),
/// the portal's external URL, and which claims make an admin or a developer.
struct PortalServeOptions: ParsableArguments {
    @Option(name: .customLong("portal-issuer"), help: ArgumentHelp("The portal's OpenID Connect provider (its iss URL); turns the portal on.", valueName: "URL"))
    var issuer: String?
    @Option(name: .customLong("portal-client-id"), help: "The portal's OAuth client id at the provider (the ID tokens' audience).")
    var clientID = "ferry-portal"
    @Option(name: .customLong("portal-client-secret-file"), help: ArgumentHelp("A file holding the client secret (else FERRY_PORTAL_CLIENT_SECRET).", valueName: "FILE"))
    var clientSecretFile: String?
    @Option(name: .customLong("portal-url"), help: ArgumentHelp("The portal's external base URL, e.g. https://ferry.example.com:8443 (the redirect URI is URL/portal/callback).", valueName: "URL"))
    var url: String?
    @Option(name: .customLong("portal-admin"), help: ArgumentHelp("Claims that make an admin: CLAIM=PATTERN[,CLAIM=PATTERN] (repeat for alternatives).", valueName: "CLAIMS"))
    var admins: [String] = []
    @Option(name: .customLong("portal-developer"), help: ArgumentHelp("Claims that make a developer and their devices' segment: CLAIM=PATTERN[,CLAIM=PATTERN]:SEGMENT (first match wins; repeat).", valueName: "MAP"))
    var developers: [String] = []
    @Option(name: .customLong("portal-scopes"), help: "The scopes asked of the provider.")
    var scopes = "openid email profile groups"
    @Option(name: .customLong("portal-owner-claim"), help: "The claim naming the person (their devices' owner).")
    var ownerClaim = "email"
    @Option(name: .customLong("portal-removed-devices"), help: "A person whose claims no longer map to a role, at their next sign-in: keep or disable their devices.")
    var removedDevices = "keep"
    @Option(name: .customLong("portal-session"), help: "How long a portal session lasts.")
    var session = "8h"
    @Flag(name: .customLong("portal-no-admin-token"), help: "Refuse the admin token's sign-in (break-glass) in the portal.")
    var noAdminToken = false

    func validate() throws {
        guard let issuer else {
            if url != nil || !admins.isEmpty || !developers.isEmpty { throw ValidationError("the --portal-* options need --portal-issuer") }
            return
        }
        guard let u = URL(string: issuer), IssuerURL.isAcceptable(u) else { throw ValidationError("--portal-issuer must be https (http only on loopback)") }
        guard let url, let p = URL(string: url), ["http", "https"].contains(p.scheme?.lowercased() ?? ""), p.host != nil, p.path.isEmpty || p.path == "/" else {
            throw ValidationError("--portal-url must be the portal's external base URL, like https://ferry.example.com:8443")
        }
        if admins.isEmpty, developers.isEmpty { throw ValidationError("--portal-issuer needs --portal-admin or --portal-developer (who may sign in)") }
        do { _ = try PortalConfiguration.parseAdmins(admins) } catch { throw ValidationError("--portal-admin: \(error.message)") }
        do { _ = try ClaimSegmentMapping.parse(developers) } catch { throw ValidationError("--portal-developer: \(error.message)") }
        guard PortalConfiguration.RemovedDevices(rawValue: removedDevices) != nil else { throw ValidationError("--portal-removed-devices is keep or disable") }
        guard let ms = DurationText.milliseconds(session), ms >= 60_000 else { throw ValidationError("--portal-session must be like 8h, at least 1m") }
    }

    func apply(to config: inout FerryConfiguration) throws {
        guard let issuer, let url, let portalURL = URL(string: url) else { return }
        var secret = ProcessInfo.processInfo.environment["FERRY_PORTAL_CLIENT_SECRET"] ?? ""
        if let file = clientSecretFile {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { throw ValidationError("--portal-client-secret-file: cannot read \(file)") }
            secret = text.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        if secret.isEmpty { throw ValidationError("the portal needs its client secret: --portal-client-secret-file FILE or FERRY_PORTAL_CLIENT_SECRET") }
        config.portal = PortalConfiguration(issuer: issuer, clientID: clientID, clientSecret: secret, portalURL: portalURL,
                                            admins: try PortalConfiguration.parseAdmins(admins), developers: try ClaimSegmentMapping.parse(developers),
                                            scopes: scopes, ownerClaim: ownerClaim,
                                            removedDevices: PortalConfiguration.RemovedDevices(rawValue: removedDevices) ?? .keep,
                                            sessionSeconds: (DurationText.milliseconds(session) ?? 28_800_000) / 1000,
                                            allowAdminToken: !noAdminToken)
    }
}

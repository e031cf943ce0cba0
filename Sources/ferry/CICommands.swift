import ArgumentParser
import FerryAgent
import FerryCore
import Foundation
import WireGuard

struct CI: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ci", abstract: "Ephemeral peers for CI jobs.",
        discussion: "FERRY_URL and FERRY_CI_TOKEN (a ci token) come from the job's environment, or with --oidc the CI system's own ID token replaces the ci token. See docs/ferry.md for GitHub Actions and GitLab CI.",
        subcommands: [CIUp.self, CIDown.self, CITrust.self])
}

struct CIUp: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "up",
        abstract: "Enrol an ephemeral peer, bring its tunnel up, print one status line; the tunnel stays up for the job's later steps.",
        discussion: "If the job dies, the TTL removes the peer at the coordinator.")

    @Option(help: "How long the peer may live (e.g. 30m); the coordinator removes it then. With --oidc the default and cap is the trust rule's maximum.")
    var ttl: String?
    @OptionGroup var oidcOptions: CIOIDCOptions
    @Option(help: "The segment (default: the ci token's own).") var segment: String?
    @Option(parsing: .upToNextOption, help: ArgumentHelp("Reach only these prefixes (within policy).", valueName: "PREFIX"))
    var route: [String] = []
    @Option(help: "The peer's name (default: ci-<job id>-<random>).") var name: String?
    @Option(name: .customLong("interface"), help: "The WireGuard interface.") var interfaceName = "ferryci0"
    @Option(help: ArgumentHelp("The coordinator (default $FERRY_URL).", valueName: "URL")) var url: String?
    @Option(help: ArgumentHelp("Pin the coordinator's certificate (default $FERRY_FINGERPRINT).", valueName: "SHA256")) var fingerprint: String?
    @Option(help: ArgumentHelp("The userspace WireGuard to start without the kernel module.", valueName: "PATH")) var userspace: String?
    @OptionGroup var state: StateOptions

    func validate() throws {
        if let ttl {
            try validateDuration(ttl, option: "--ttl", maxSeconds: 365 * 86400)
        } else if !oidcOptions.oidc {
            throw ValidationError("--ttl is required (e.g. --ttl 30m) without --oidc")
        }
        for r in route where IPPrefix(r) == nil { throw ValidationError("--route '\(r)' is not a prefix like 172.20.0.0/24") }
        guard InterfaceName.isPlain(interfaceName) else { throw ValidationError("--interface: \(InterfaceName.problem(interfaceName))") }
    }

    func run() async throws {
        try await reporting {
            let env = ProcessInfo.processInfo.environment
            let ciToken = env["FERRY_CI_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
            if !oidcOptions.oidc, ciToken == nil {
                throw FerryError(.unauthorized, "FERRY_CI_TOKEN is not set: put the ci token in the job's secrets and export it, or use --oidc")
            }
            guard let base = url ?? env["FERRY_URL"], !base.isEmpty else {
                throw FerryError(.failure, "no coordinator: set FERRY_URL (or give --url)")
            }
            let dir = state.directory
            if dir.isEnrolled {
                let s = try dir.load()
                throw FerryError(.state, "\(dir.path) already holds '\(s.name)'; run 'ferry ci down' first, or give another --state")
            }
            let peerName = try validPeerName(name ?? CIUp.defaultName(env))
            if let warning = try PlainHTTP.check(base, allowed: false) { Console.progress(warning) }
            let askedTTL = ttl.flatMap(DurationText.milliseconds).map { Int($0 / 1000) }
            var pem: String?
            let pin = fingerprint ?? env["FERRY_FINGERPRINT"]
            if let pin { pem = try await CertificatePin.fetch(url: base, fingerprint: pin) }
            let key = PrivateKey.generate()
            let client: CoordinatorClient
            let created: PeerView
            let token: String
            if oidcOptions.oidc {
                if segment != nil { throw FerryError(.failure, "--segment: with --oidc the trust rule decides the segment") }
                let idToken = try await oidcOptions.idToken(env)
                let anonymous = try CoordinatorClient(url: base, token: nil, pinnedCertificatePEM: pem)
                Console.progress("exchanging the job's ID token for an ephemeral peer '\(peerName)' at \(anonymous.baseURL)")
                let r = try await anonymous.oidcExchange(OIDCExchangeRequest(
                    idToken: idToken, publicKey: key.publicKey.base64, name: peerName, ttlSeconds: askedTTL,
                    allowedIPs: route.isEmpty ? nil : route))
                (created, token) = (r.peer, r.token)
                client = try CoordinatorClient(url: base, token: token, pinnedCertificatePEM: pem)
            } else {
                token = ciToken ?? ""
                client = try CoordinatorClient(url: base, token: token, pinnedCertificatePEM: pem)
                Console.progress("creating ephemeral peer '\(peerName)' (TTL \(ttl ?? "")) at \(client.baseURL)")
                created = try await client.createPeer(CreatePeerRequest(
                    name: peerName, kind: "ci", segment: segment, publicKey: key.publicKey.base64,
                    ttlSeconds: askedTTL, allowedIPs: route.isEmpty ? nil : route)).peer
            }
            let ttlSeconds = created.expiresAt.map { max(1, Int($0.timeIntervalSinceNow.rounded())) } ?? askedTTL ?? 0
            let s = AgentState(coordinator: client.baseURL, fingerprint: pin.flatMap(CertificatePin.normalize), peerID: created.id,
                               name: created.name, interface: interfaceName, deviceToken: token, enrolledAt: Date(), ephemeral: true)
            let driver = InterfaceDriver(name: interfaceName, scratch: URL(fileURLWithPath: dir.file("wg")))
            let folderExisted = FileManager.default.fileExists(atPath: dir.path)
            do {
                let line = try await bringUp(client: client, state: s, key: key, pem: pem, dir: dir, driver: driver, ttlSeconds: ttlSeconds)
                Console.out(line)
            } catch {
                // Nothing half-done: the peer, the interface and the state go again.
                try? await client.deletePeer(id: s.peerID)
                try? await driver.local.delete()
                dir.removeEnrolment()
                if !folderExisted { try? FileManager.default.removeItem(atPath: dir.path) }
                throw error
            }
        }
    }

    /// After the peer exists: its config, the state, the interface; the status line.
    func bringUp(client: CoordinatorClient, state s: AgentState, key: PrivateKey, pem: String?, dir: StateDirectory,
                 driver: InterfaceDriver, ttlSeconds: Int) async throws -> String {
        let text = String(decoding: try await client.peerConfig(id: s.peerID), as: UTF8.self)
        guard let config = try? WGQuickConfig(parsing: text) else {
            throw FerryError(.failure, "the coordinator's config for \(s.peerID) cannot be read")
        }
        let plan = InterfacePlan.make(config: config, privateKey: key)
        try AtomicFile.makeDirectory(dir.path)
        try AtomicFile.write(key.base64 + "\n", to: dir.keyFile)
        if let pem { try AtomicFile.write(pem, to: dir.certificateFile) }
        try dir.save(s)
        try await driver.ensureExists(userspace: userspace) { Console.progress($0) }
        try await driver.apply(plan)
        Console.progress("waiting for the first handshake")
        let handshake = await CIUp.waitForHandshake(driver, seconds: 10)
        let targets = plan.routes.map(\.description).joined(separator: ", ")
        return "ferry ci: '\(s.name)' (\(s.peerID)) up on \(interfaceName), \(plan.addresses.map(\.description).joined(separator: ", ")) -> \(targets.isEmpty ? "nothing routed" : targets), \(handshake ? "handshake ok" : "no handshake yet"), expires in \(DurationText.format(seconds: Int64(ttlSeconds)))"
    }

    static func waitForHandshake(_ driver: InterfaceDriver, seconds: Double) async -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if let peers = try? await driver.status(), peers.contains(where: { $0.latestHandshake > 0 }) { return true }
            try? await Task.sleep(for: .milliseconds(200))
        }
        return false
    }

    static func defaultName(_ env: [String: String]) -> String {
        let job = env["GITHUB_RUN_ID"].map { "gh\($0)" } ?? env["CI_JOB_ID"].map { "gl\($0)" } ?? "job"
        return "ci-\(job)-\(String(UInt32.random(in: 0...UInt32.max), radix: 36))"
    }
}

struct CIDown: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "down", abstract: "Delete the CI peer at the coordinator and take its tunnel down.")
    @OptionGroup var state: StateOptions

    func run() async throws {
        try await reporting {
            let (dir, s) = try state.load()
            guard s.ephemeral else {
                throw FerryError(.state, "\(dir.path) holds '\(s.name)', not a CI peer; use 'ferry down' for it")
            }
            let failure = await CIDown.deletePeer(s, dir: dir)
            try await LocalInterface(name: s.interface).delete()
            dir.removeEnrolment()
            if let failure { throw failure }
            Console.out("ferry ci: '\(s.name)' (\(s.peerID)) deleted, \(s.interface) down")
        }
    }

    /// Deletes the peer at the coordinator; nil when done (or already gone), else why not.
    static func deletePeer(_ s: AgentState, dir: StateDirectory) async -> FerryError? {
        let client: CoordinatorClient
        do {
            client = try CoordinatorClient(url: s.coordinator, token: s.deviceToken, pinnedCertificatePEM: try dir.loadPinnedCertificate(for: s))
        } catch {
            return error
        }
        var outcome: FerryError?
        do {
            try await client.deletePeer(id: s.peerID)
        } catch {
            if error.kind == .notFound {
                Console.progress("'\(s.name)' was already gone at the coordinator (its TTL ended)")
            } else {
                outcome = FerryError(error.kind, "\(error.message) — the tunnel is down anyway, and the coordinator removes '\(s.name)' when its TTL ends")
            }
        }
        return outcome
    }
}

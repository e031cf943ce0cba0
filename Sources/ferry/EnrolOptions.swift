import ArgumentParser
import FerryAgent
import FerryCore
import Foundation
import WireGuard

/// What `ferry join` and `ferry login` share: the machine's name, interface and tunnel
/// wishes, the pinned certificate, the state folder; and how an enrolment is kept.
struct EnrolOptions: ParsableArguments {
    @Option(name: .customLong("fingerprint"),
            help: ArgumentHelp("Pin the coordinator's certificate: its SHA-256 fingerprint as ferryd prints it (join with several URLs: one for all, or one per URL in order).", valueName: "SHA256"))
    var fingerprints: [String] = []
    var fingerprint: String? { fingerprints.first }
    @Option(help: "This machine's peer name (join: default the enrolment token's name; login: the host name).") var name: String?
    @Option(name: .customLong("interface"), help: "The WireGuard interface 'ferry up' brings up.") var interfaceName = "ferry0"
    @Flag(help: "Ask for direct mesh links to other mesh peers.") var mesh = false
    @Flag(name: .customLong("full-tunnel"), help: "Send all traffic through the network's egress gateway.") var fullTunnel = false
    @Flag(name: .customLong("insecure-http"), help: "Allow a plain http:// coordinator beyond loopback (the token crosses the network in clear).")
    var insecureHTTP = false
    @OptionGroup var state: StateOptions

    func validate() throws {
        guard InterfaceName.isPlain(interfaceName) else { throw ValidationError("--interface: \(InterfaceName.problem(interfaceName))") }
        for f in fingerprints { try validateFingerprint(f) }
    }

    /// The state folder, refused when it already holds an enrolment; the peer name if given.
    func prepare() throws(FerryError) -> (StateDirectory, String?) {
        let dir = state.directory
        if dir.isEnrolled {
            let s = try dir.load()
            throw FerryError(.state, "\(dir.path) already holds the enrolment of '\(s.name)' (\(s.peerID)) with \(s.coordinator); 'ferry leave' first, or give another --state")
        }
        return (dir, try name.map(validPeerName))
    }

    /// The host name, cut to a valid peer name (`ferry login`'s default).
    static func hostName() -> String {
        let host = ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init) ?? "host"
        let cleaned = String(host.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" ? $0 : "-" }.prefix(63))
        return cleaned.isEmpty ? "host" : cleaned
    }

    /// The coordinator's certificate, fetched and checked against the fingerprint (plain
    /// http beyond loopback refused unless --insecure-http).
    func pinnedCertificate(_ url: String) async throws(FerryError) -> String? {
        if let warning = try PlainHTTP.check(url, allowed: insecureHTTP) { Console.progress(warning) }
        guard let fingerprint else { return nil }
        Console.progress("fetching the certificate of \(url) and checking its fingerprint")
        return try await CertificatePin.fetch(url: url, fingerprint: fingerprint)
    }

    /// Keeps the enrolment (state, key, certificate, first map); the summary line.
    func save(_ enrolled: EnrollResponse, key: PrivateKey, pem: String?, client: CoordinatorClient, dir: StateDirectory) throws(FerryError) -> String {
        let s = AgentState(coordinator: client.baseURL, fingerprint: fingerprint.flatMap(CertificatePin.normalize),
                           peerID: enrolled.peer.id, name: enrolled.peer.name, interface: interfaceName,
                           deviceToken: enrolled.deviceToken, enrolledAt: Date())
        try dir.saveEnrolment(s, privateKey: key, certificatePEM: pem, netmap: enrolled.netmap)
        return "enrolled '\(s.name)' (\(s.peerID)) in segment \(enrolled.peer.segment): \(enrolled.netmap.interface.addresses.joined(separator: ", ")); state in \(dir.path); next: ferry up"
    }
}

import ArgumentParser
import FerryAgent
import FerryCore
import Foundation
import WireGuard

struct Join: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Enrol this machine: generate its key here and register only the public key.",
        discussion: "ferry join https://gw.example.com:8443 --token ferry_... --fingerprint AA:BB:...")

    @Argument(help: "The coordinator's URL.") var url: String
    @Option(help: ArgumentHelp("An enrolment token (scope enroll) from your admin.", valueName: "TOKEN")) var token: String
    @Option(help: ArgumentHelp("Pin the coordinator's certificate: its SHA-256 fingerprint as ferryd prints it.", valueName: "SHA256"))
    var fingerprint: String?
    @Option(help: "This machine's peer name (default: the enrolment token's name, unique where host names are not).") var name: String?
    @Option(name: .customLong("interface"), help: "The WireGuard interface 'ferry up' brings up.") var interfaceName = "ferry0"
    @Flag(help: "Ask for direct mesh links to other mesh peers.") var mesh = false
    @Flag(name: .customLong("full-tunnel"), help: "Send all traffic through the network's egress gateway.") var fullTunnel = false
    @Flag(name: .customLong("insecure-http"), help: "Allow a plain http:// coordinator beyond loopback (the token crosses the network in clear).")
    var insecureHTTP = false
    @OptionGroup var state: StateOptions

    func validate() throws {
        guard InterfaceName.isPlain(interfaceName) else { throw ValidationError("--interface: \(InterfaceName.problem(interfaceName))") }
        try validateFingerprint(fingerprint)
    }

    func run() async throws {
        try await reporting {
            let dir = state.directory
            if dir.isEnrolled {
                let s = try dir.load()
                throw FerryError(.state, "\(dir.path) already holds the enrolment of '\(s.name)' (\(s.peerID)) with \(s.coordinator); 'ferry leave' first, or give another --state")
            }
            let peerName = try name.map(validPeerName)
            if let warning = try PlainHTTP.check(url, allowed: insecureHTTP) { Console.progress(warning) }
            var pem: String?
            if let fingerprint {
                Console.progress("fetching the certificate of \(url) and checking its fingerprint")
                pem = try await CertificatePin.fetch(url: url, fingerprint: fingerprint)
            }
            let key = PrivateKey.generate()
            let client = try CoordinatorClient(url: url, token: token, pinnedCertificatePEM: pem)
            Console.progress("enrolling \(peerName.map { "'\($0)'" } ?? "under the token's name") with \(client.baseURL)")
            let enrolled = try await Join.enroll(client, EnrollRequest(name: peerName, publicKey: key.publicKey.base64, mesh: mesh ? true : nil,
                                                                       tunnel: fullTunnel ? "full" : nil))
            let s = AgentState(coordinator: client.baseURL, fingerprint: fingerprint.flatMap(CertificatePin.normalize),
                               peerID: enrolled.peer.id, name: enrolled.peer.name, interface: interfaceName,
                               deviceToken: enrolled.deviceToken, enrolledAt: Date())
            try dir.saveEnrolment(s, privateKey: key, certificatePEM: pem, netmap: enrolled.netmap)
            Console.out("enrolled '\(s.name)' (\(s.peerID)) in segment \(enrolled.peer.segment): \(enrolled.netmap.interface.addresses.joined(separator: ", ")); state in \(dir.path); next: ferry up")
        }
    }
}

extension Join {
    /// The enrolment; a token of another scope is told which one it needs.
    static func enroll(_ client: CoordinatorClient, _ request: EnrollRequest) async throws(FerryError) -> EnrollResponse {
        do {
            return try await client.enroll(request)
        } catch {
            // Only the scope refusal; a grant refused by an enrolment token (mesh, full tunnel) says its own.
            guard error.kind == .unauthorized, error.message.contains("token may not call") else { throw error }
            throw FerryError(.unauthorized, "this token cannot enrol a machine: 'ferry join' needs an enrolment token (ferry tokens add NAME --scope enroll --segment SEGMENT)")
        }
    }
}

/// A peer name checked as the coordinator will check it, before anything is sent.
func validPeerName(_ name: String) throws(FerryError) -> String {
    do { return try Validate.name(name) } catch { throw FerryError(.failure, "--name: \(error.message)") }
}

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
    @OptionGroup var enrol: EnrolOptions

    func run() async throws {
        try await reporting {
            let (dir, peerName) = try enrol.prepare()
            let pem = try await enrol.pinnedCertificate(url)
            let key = PrivateKey.generate()
            let client = try CoordinatorClient(url: url, token: token, pinnedCertificatePEM: pem)
            Console.progress("enrolling '\(peerName)' with \(client.baseURL)")
            let enrolled = try await client.enroll(EnrollRequest(name: peerName, publicKey: key.publicKey.base64, mesh: enrol.mesh ? true : nil,
                                                                 tunnel: enrol.fullTunnel ? "full" : nil))
            Console.out(try enrol.save(enrolled, key: key, pem: pem, client: client, dir: dir))
        }
    }

    /// The host name, cut to a valid peer name.
    static func defaultName() -> String {
        let host = ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init) ?? "host"
        let cleaned = String(host.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" ? $0 : "-" }.prefix(63))
        return cleaned.isEmpty ? "host" : cleaned
    }
}

/// A peer name checked as the coordinator will check it, before anything is sent.
func validPeerName(_ name: String) throws(FerryError) -> String {
    do { return try Validate.name(name) } catch { throw FerryError(.failure, "--name: \(error.message)") }
}

import ArgumentParser
import FerryAgent
import FerryCore
import Foundation
import WireGuard

struct Join: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Enrol this machine: generate its key here and register only the public key.",
        discussion: """
        ferry join https://gw.example.com:8443 --token ferry_... --fingerprint AA:BB:...
        Several coordinators of one network (replicas): give every URL; the agent uses the first
        that answers and moves to the next within 5 s when it stops answering.
        ferry join https://a.example.com:8443 https://b.example.com:8443 --token ferry_... --fingerprint AA:.. --fingerprint CC:..
        """)

    @Argument(help: "The coordinator's URL (more URLs: other coordinators of the same network, tried in order).") var urls: [String]
    @Option(help: ArgumentHelp("An enrolment token (scope enroll) from your admin.", valueName: "TOKEN")) var token: String
    @OptionGroup var enrol: EnrolOptions

    func run() async throws {
        try await reporting {
            let (dir, peerName) = try enrol.prepare()
            let pems = try await Join.pins(urls, enrol: enrol)
            let pem = pems.first ?? nil
            let key = PrivateKey.generate()
            let client = try CoordinatorClient(coordinators: Array(zip(urls, pems)), token: token)
            Console.progress("enrolling \(peerName.map { "'\($0)'" } ?? "under the token's name") with \(client.baseURL)")
            let enrolled = try await Join.enroll(client, EnrollRequest(name: peerName, publicKey: key.publicKey.base64, mesh: enrol.mesh ? true : nil,
                                                                       tunnel: enrol.fullTunnel ? "full" : nil))
            let summary = try enrol.save(enrolled, key: key, pem: pem, client: client, dir: dir)
            try Join.keepAlternates(urls, pems: pems, enrol: enrol, dir: dir)
            Console.out(summary)
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

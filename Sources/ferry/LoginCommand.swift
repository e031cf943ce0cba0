import ArgumentParser
import FerryAgent
import FerryCore
import Foundation
import WireGuard

struct Login: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Enrol this machine by logging in at your company's identity provider (device code); no token needed.",
        discussion: "ferry login https://gw.example.com:8443 --fingerprint AA:BB:...  prints a code and a URL; approve there, and this machine is enrolled in the segment your account maps to. Then: ferry up.")

    @Argument(help: "The coordinator's URL.") var url: String
    @OptionGroup var enrol: EnrolOptions

    func run() async throws {
        try await reporting {
            let (dir, given) = try enrol.prepare()
            let peerName = try given ?? validPeerName(EnrolOptions.hostName())
            let pem = try await enrol.pinnedCertificate(url)
            let client = try CoordinatorClient(url: url, token: nil, pinnedCertificatePEM: pem)
            let info = try await client.loginInfo()
            let grant = try await DeviceGrant.discover(issuer: info.issuer, clientID: info.clientID, scopes: info.scopes)
            let idToken = try await grant.run { p in
                Console.progress("to log in, open \(p.verificationURI) and enter the code \(p.userCode)")
                if let full = p.verificationURIComplete { Console.progress("(or open \(full))") }
                Console.progress("waiting for the approval…")
            }
            // The key is made here, after the approval; only its public half leaves the machine.
            let key = PrivateKey.generate()
            let enrolled = try await client.login(LoginRequest(idToken: idToken, name: peerName, publicKey: key.publicKey.base64,
                                                               mesh: enrol.mesh ? true : nil, tunnel: enrol.fullTunnel ? "full" : nil))
            Console.out("logged in as \(enrolled.peer.owner); " + (try enrol.save(enrolled, key: key, pem: pem, client: client, dir: dir)))
        }
    }
}

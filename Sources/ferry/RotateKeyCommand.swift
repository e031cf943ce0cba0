import ArgumentParser
import FerryAgent
import FerryCore
import Foundation
import WireGuard

/// `ferry rotate-key`: a new key pair made here; only its public half goes to the
/// coordinator (with this device's own token). The new private key is written next to the
/// old one first and renamed over it only once the coordinator took the public key, so a
/// failure at any point leaves a key that matches what the coordinator has. A running
/// agent picks it up at the next map (the rotation changes the map).
struct RotateKey: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rotate-key",
        abstract: "Give this machine a new key pair; the coordinator gets only the public key.",
        discussion: "Also repairs a machine whose key an admin rotated with 'ferry peers rotate-key'.")
    @OptionGroup var state: StateOptions

    func run() async throws {
        try await reporting {
            let (dir, s, client) = try state.deviceClient()
            let key = PrivateKey.generate()
            let pending = dir.file("private.key.new")
            try AtomicFile.write(key.base64 + "\n", to: pending)
            do throws(FerryError) {
                let _: PeerCreated = try await client.call(.POST, "/v1/peers/\(CoordinatorClient.escape(s.peerID))/rotate-key",
                                                           body: RotateKeyRequest(publicKey: key.publicKey.base64))
            } catch {
                unlink(pending)
                throw error
            }
            guard rename(pending, dir.keyFile) == 0 else {
                throw FerryError(.failure, "the coordinator has the new key but \(dir.keyFile) could not be replaced (\(String(cString: strerror(errno)))); move \(pending) over it by hand")
            }
            let running = AgentProcess.running(in: dir) != nil
            Console.out("'\(s.name)' has a new key: \(key.publicKey.base64)" + (running ? "; the running agent takes it at its next map" : ""))
        }
    }
}

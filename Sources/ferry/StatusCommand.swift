import ArgumentParser
import FerryAgent
import FerryCore
import Foundation

struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the interface like 'wg show', with the coordinator's names, segments and TTLs.",
        discussion: "With an admin token at hand (FERRY_TOKEN or STATE/admin.token) other peers' segments and TTLs are shown too.")
    @OptionGroup var output: OutputOptions
    @OptionGroup var state: StateOptions

    func run() async throws {
        try await reporting {
            let (dir, s, client) = try state.deviceClient()
            let key = try dir.loadPrivateKey()
            let driver = InterfaceDriver(name: s.interface, scratch: URL(fileURLWithPath: dir.file("wg")))
            let live: [InterfacePeerStatus]? = await driver.local.exists() ? (try? await driver.status()) : nil
            var own: PeerView?, problem: String?
            do throws(FerryError) { own = try await client.peer(id: s.peerID) } catch {
                // An answer that is not the peer (removed, refused) is said, not called "unreachable".
                if error.kind != .unreachable { problem = error.message }
            }
            var all: [PeerView]?
            let env = ProcessInfo.processInfo.environment
            if let token = env["FERRY_TOKEN"] ?? dir.loadAdminToken(),
               let admin = try? CoordinatorClient(url: s.coordinator, token: token, pinnedCertificatePEM: try dir.loadPinnedCertificate(for: s)) {
                all = try? await admin.peers()
            }
            let report = StatusReport.make(state: s, publicKey: key.publicKey.base64, live: live, map: dir.loadNetmap(), own: own, all: all, problem: problem,
                                           mesh: dir.loadMeshPaths())
            if output.json { try Console.json(report) } else { Console.out(report.render(), terminator: "") }
        }
    }
}

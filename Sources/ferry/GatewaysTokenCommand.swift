import ArgumentParser
import FerryAgent
import FerryCore
import Foundation

/// `ferry gateways token NAME`: the token a gateway host runs `ferryd gateway` with.
struct GatewaysToken: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token", abstract: "Make a token for a gateway host (ferryd gateway): it reads that gateway's map and sends its heartbeats, nothing else.",
        discussion: "Prints the secret once on standard output; the gateway's id and the command to run go to standard error.")
    @Argument(help: "Its name or id.") var name: String
    @OptionGroup var admin: AdminOptions

    func run() async throws {
        try await reporting {
            let (g, created) = try await admin.withClient { c in
                let g = try await c.gateway(name)
                let created: TokenCreated = try await c.call(.POST, "/v1/gateways/\(CoordinatorClient.escape(g.id))/token")
                return (g, created)
            }
            Console.out(created.secret)
            Console.progress("on the gateway host: ferryd gateway --coordinator URL --fingerprint FP --id \(g.id) --token-file FILE --interface wg0")
        }
    }
}

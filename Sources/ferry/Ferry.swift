import ArgumentParser
import FerryAgent

/// ferry: the CLI and agent of a Ferry network.
@main
struct Ferry: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ferry",
        abstract: "Join a Ferry network, keep this machine's WireGuard interface in sync, and manage the network.",
        discussion: """
        Exit codes: 0 ok, 1 failure, 3 not enrolled or bad state, 4 coordinator unreachable,
        5 token refused, 6 not found, 7 request refused, 64 usage. See docs/ferry.md.
        """,
        version: FerryAgentInfo.version,
        subcommands: ferrySubcommands)
}

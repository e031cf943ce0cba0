import ArgumentParser

/// Every subcommand of `ferry`, one per line: a new command is a file of its own plus one
/// line here.
let ferrySubcommands: [any ParsableCommand.Type] = [
    Join.self,
    Login.self,
    Up.self,
    Down.self,
    Status.self,
    Leave.self,
    RotateKey.self,
    CI.self,
    Peers.self,
    Segments.self,
    Policy.self,
    Tokens.self,
    Gateways.self,
    Audit.self,
    DNS.self,
    Config.self,
    GenKey.self,
    PubKey.self,
    GenPSK.self,
    DoctorCommand.self,
]

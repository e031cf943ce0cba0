import ArgumentParser
import FerryAgent
import FerryCore
import Foundation
import WireGuard

struct DoctorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Run the troubleshooting checklist on the interface, with what to do about each failure.",
        discussion: """
        Checks, in order: the coordinator answers; keys and AllowedIPs agree with the
        coordinator on both ends; every allowed prefix routes through the interface; the
        endpoint answers a handshake; the path MTU through the tunnel (don't-fragment pings);
        NAT without persistent keepalive; clock skew. See docs/doctor.md.

        Exit codes: 0 no check failed (warnings and skips allowed); 2 a check failed; 1, 3
        or 4 when the doctor could not run (no interface, not enrolled, no coordinator and no
        saved map).
        """)

    @Argument(help: "The WireGuard interface (default: the enrolled one).") var interface: String?
    @Option(help: ArgumentHelp("An address across the tunnel that answers ping, for the MTU probe (default: the gateway's own).",
                               valueName: "ADDRESS"))
    var target: String?
    @Option(help: "How long the endpoint has to answer (e.g. 5s).") var timeout = "5s"
    @OptionGroup var output: OutputOptions
    @OptionGroup var state: StateOptions

    func validate() throws {
        if let target, IPAddress(target) == nil { throw ValidationError("--target must be an IP address") }
        guard DurationText.milliseconds(timeout) != nil else { throw ValidationError("--timeout must be like 5s") }
    }

    func run() async throws {
        try await reporting {
            let (dir, s, client) = try state.deviceClient()
            let name = interface ?? s.interface
            var (inputs, coordinator) = try await Doctor.gather(directory: dir, state: s, client: client, interface: name)
            inputs.target = target.flatMap { IPAddress($0) }
            inputs.handshakeTimeout = .milliseconds(DurationText.milliseconds(timeout) ?? 5000)
            let doctor = Doctor.checklist(inputs, probes: .system(interface: name, fwmark: inputs.local.device.fwmark), coordinator: coordinator)
            let json = output.json
            if !json { Console.out("ferry doctor: \(name) (peer \(s.name))") }
            let results = await doctor.run { r in if !json { Console.out(DoctorReport.line(r), terminator: "") } }
            let report = DoctorReport(interface: name, peer: s.name, results: results)
            if json { try Console.json(report) } else { Console.out(report.summary) }
            if report.exitCode != 0 { throw ExitCode(report.exitCode) }
        }
    }
}

import ArgumentParser
import FerryAgent
import FerryCore
import Foundation

/// `--state DIR` (every command has it): the enrolment state folder.
struct StateOptions: ParsableArguments {
    @Option(name: .customLong("state"), help: ArgumentHelp("The state folder (default $FERRY_STATE, else /var/lib/ferry).", valueName: "DIR"))
    var path: String?

    var directory: StateDirectory { StateDirectory.resolve(path) }

    /// The enrolment, or a one-line error saying how to enrol.
    func load() throws(FerryError) -> (StateDirectory, AgentState) {
        let dir = directory
        return (dir, try dir.load())
    }

    /// A client of the enrolled coordinator with this device's token (and pinned certificate).
    /// The connections carry the full tunnel's mark (root only: SO_MARK needs CAP_NET_ADMIN),
    /// so `up`, `status` and `doctor` reach the coordinator the direct way, also while a
    /// full tunnel is cut (peer disabled, gateway key rotated), as wg-quick's UDP does.
    func deviceClient() throws(FerryError) -> (StateDirectory, AgentState, CoordinatorClient) {
        let socketMark: UInt32? = geteuid() == 0 ? InterfacePlan.fullTunnelMark : nil
        let (dir, state) = try load()
        let client = try CoordinatorClient(coordinators: try dir.coordinators(for: state), token: state.deviceToken, socketMark: socketMark)
        return (dir, state, client)
    }
}

/// The admin commands' coordinator and token (precedence in `AdminCredentials`).
struct AdminOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The coordinator (default $FERRY_URL, else the enrolled one).", valueName: "URL"))
    var url: String?

    @Option(help: ArgumentHelp("An admin token (default $FERRY_TOKEN, else STATE/admin.token).", valueName: "TOKEN"))
    var token: String?

    @Option(help: ArgumentHelp("Pin the coordinator's certificate by its SHA-256 fingerprint (default $FERRY_FINGERPRINT).", valueName: "SHA256"))
    var fingerprint: String?

    @Flag(name: .customLong("insecure-http"), help: "Allow a plain http:// coordinator beyond loopback (the token crosses the network in clear).")
    var insecureHTTP = false

    @OptionGroup var state: StateOptions

    func validate() throws { try validateFingerprint(fingerprint) }

    func credentials() async throws(FerryError) -> AdminCredentials {
        let c = try await AdminCredentials.resolve(url: url, token: token, fingerprint: fingerprint, state: state.directory)
        if let warning = try PlainHTTP.check(c.url, allowed: insecureHTTP) { Console.progress(warning) }
        return c
    }

    /// Runs `body` with an admin client (a connection lives for one request: nothing to close).
    func withClient<T: Sendable>(_ body: (CoordinatorClient) async throws -> T) async throws -> T {
        try await body(try await credentials().client())
    }
}

/// `--json` on every listing.
struct OutputOptions: ParsableArguments {
    @Flag(help: "Print JSON instead of a table.")
    var json = false
}

/// A malformed `--fingerprint` is a usage error (exit 64), found before anything is sent.
func validateFingerprint(_ fingerprint: String?) throws {
    if let fingerprint, CertificatePin.normalize(fingerprint) == nil {
        throw ValidationError("--fingerprint '\(fingerprint)' is not a SHA-256 fingerprint (32 bytes in hex, as ferryd prints it: AA:BB:...)")
    }
}

/// A duration option: a whole number with a unit, in whole seconds, within 1s...max (the
/// coordinator's limit for TTLs), said in the error with the units and the range.
func validateDuration(_ text: String, option: String, maxSeconds: Int64) throws {
    let range = "from 1s to \(DurationText.format(seconds: maxSeconds))"
    guard let ms = DurationText.milliseconds(text), ms % 1000 == 0 else {
        throw ValidationError("\(option) '\(text)': give a whole number with one unit, s, m, h or d (like 30m, 20s, 2h), \(range)")
    }
    guard ms / 1000 <= maxSeconds else { throw ValidationError("\(option) '\(text)' is too long: \(range)") }
}

/// How one check of `ferry doctor` came out.
public enum DoctorStatus: String, Codable, Sendable, Comparable {
    case pass, warn, fail
    /// The check could not run honestly (a prerequisite failed, nothing to probe).
    case skip

    var rank: Int {
        switch self { case .pass: 0; case .skip: 1; case .warn: 2; case .fail: 3 }
    }

    public static func < (a: Self, b: Self) -> Bool { a.rank < b.rank }
}

/// One check's verdict: what was found and, unless it passed, what to do about it.
public struct DoctorResult: Codable, Sendable, Equatable {
    /// The check's short identifier (`keys`, `allowed-ips`, `routes`, `handshake`, `mtu`,
    /// `nat-keepalive`, `mesh`, `dns`, `clock`).
    public var check: String
    public var status: DoctorStatus
    /// One line saying what was found.
    public var message: String
    /// What to do, one instruction per line; empty when the check passed.
    public var fix: [String]
    /// Values a script may want (`suggestedMTU`, `skewSeconds`, …), as text.
    public var details: [String: String]

    public init(check: String, status: DoctorStatus, message: String, fix: [String] = [], details: [String: String] = [:]) {
        self.check = check
        self.status = status
        self.message = message
        self.fix = fix
        self.details = details
    }
}

/// One item of the checklist: a name, what it needs run first, and a run over inputs given
/// to it when it is made (plain values and probes), so tests drive it without root.
public protocol DoctorCheck: Sendable {
    /// The identifier in `DoctorResult.check`.
    var name: String { get }
    /// Checks that must not have failed for this one to mean anything (the MTU probe needs
    /// an endpoint that answers).
    var prerequisites: [String] { get }
    func run() async -> DoctorResult
}

extension DoctorCheck {
    public var prerequisites: [String] { [] }

    func pass(_ message: String, details: [String: String] = [:]) -> DoctorResult {
        DoctorResult(check: name, status: .pass, message: message, details: details)
    }

    func warn(_ message: String, fix: [String], details: [String: String] = [:]) -> DoctorResult {
        DoctorResult(check: name, status: .warn, message: message, fix: fix, details: details)
    }

    func fail(_ message: String, fix: [String], details: [String: String] = [:]) -> DoctorResult {
        DoctorResult(check: name, status: .fail, message: message, fix: fix, details: details)
    }

    func skip(_ message: String) -> DoctorResult {
        DoctorResult(check: name, status: .skip, message: message)
    }
}

/// A check that must also wait for `more` checks: the path checks wait for the keys check
/// when this machine's key is not the coordinator's, since no handshake can then succeed
/// and a silence would be blamed on the firewall.
struct Gated: DoctorCheck {
    let check: any DoctorCheck
    let more: [String]
    var name: String { check.name }
    var prerequisites: [String] { check.prerequisites + more }
    func run() async -> DoctorResult { await check.run() }
}

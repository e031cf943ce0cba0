import Foundation
import FerryCore

/// Runs the checklist in order. A check whose prerequisite failed is skipped with a line
/// saying so, rather than reporting a second, misleading failure.
public struct Doctor: Sendable {
    public var checks: [any DoctorCheck]

    public init(checks: [any DoctorCheck]) {
        self.checks = checks
    }

    /// `progress` sees each result as soon as it is known (the MTU search takes seconds).
    public func run(progress: @Sendable (DoctorResult) -> Void = { _ in }) async -> [DoctorResult] {
        var results: [DoctorResult] = []
        for check in checks {
            let failed = check.prerequisites.filter { p in results.contains { $0.check == p && $0.status == .fail } }
            let result = failed.isEmpty ? await check.run()
                : DoctorResult(check: check.name, status: .skip, message: "skipped: \(failed.joined(separator: ", ")) failed first")
            progress(result)
            results.append(result)
        }
        return results
    }
}

/// What `ferry doctor` prints and exits with.
public struct DoctorReport: Codable, Sendable, Equatable {
    public var interface: String
    public var peer: String?
    public var results: [DoctorResult]

    public init(interface: String, peer: String?, results: [DoctorResult]) {
        self.interface = interface
        self.peer = peer
        self.results = results
    }

    /// 0 when no check failed (warnings and skips included), 2 when one did. (`ferry`
    /// itself exits 1, 3, 4, … when the doctor cannot run at all: docs/ferry.md.)
    public var exitCode: Int32 { results.contains { $0.status == .fail } ? 2 : 0 }

    public var failed: Int { results.filter { $0.status == .fail }.count }
    public var warned: Int { results.filter { $0.status == .warn }.count }

    /// One line per check, the fix indented under anything that is not a pass.
    public static func line(_ r: DoctorResult) -> String {
        let label = r.status.rawValue.uppercased()
        var out = "\(label.padding(toLength: 5, withPad: " ", startingAt: 0)) \(r.check.padding(toLength: 14, withPad: " ", startingAt: 0)) \(r.message)\n"
        for f in r.fix { out += "      fix: \(f)\n" }
        return out
    }

    public var summary: String {
        let passed = results.filter { $0.status == .pass }.count
        var parts = ["\(passed) passed"]
        if failed > 0 { parts.append("\(failed) failed") }
        if warned > 0 { parts.append("\(warned) warning\(warned == 1 ? "" : "s")") }
        let skipped = results.filter { $0.status == .skip }.count
        if skipped > 0 { parts.append("\(skipped) skipped") }
        return parts.joined(separator: ", ")
    }

    public func renderHuman() -> String {
        "ferry doctor: \(interface)\(peer.map { " (peer \($0))" } ?? "")\n" + results.map(Self.line).joined() + summary + "\n"
    }

    public func renderJSON() throws -> String {
        let encoder = FerryJSON.encoder()
        encoder.outputFormatting.insert(.prettyPrinted)
        return String(decoding: try encoder.encode(self), as: UTF8.self) + "\n"
    }
}

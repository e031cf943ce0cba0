import ArgumentParser
import FerryAgent
import FerryCore
import Foundation

/// `ferry ci up --oidc`: the CI system's ID token instead of a stored ci token.
struct CIOIDCOptions: ParsableArguments {
    @Flag(help: "Prove the job's identity with the CI system's OpenID Connect ID token (no stored Ferry secret).")
    var oidc = false
    @Option(help: "The audience to ask GitHub Actions for (the trust rule's --audience).") var audience = "ferry"
    @Option(name: .customLong("oidc-token-file"), help: ArgumentHelp("Read the ID token from this file.", valueName: "FILE"))
    var tokenFile: String?
    @Option(name: .customLong("oidc-token-env"), help: ArgumentHelp("The variable holding the ID token (GitLab's id_tokens).", valueName: "NAME"))
    var tokenVariable = "FERRY_ID_TOKEN"

    func idToken(_ env: [String: String]) async throws(FerryError) -> String {
        try await CIIDToken.obtain(file: tokenFile, variable: tokenVariable, audience: audience, environment: env)
    }
}

struct CITrust: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trust", abstract: "Which CI jobs may get an ephemeral peer with their OIDC ID token (admin).",
        subcommands: [CITrustList.self, CITrustAdd.self, CITrustRemove.self], defaultSubcommand: CITrustList.self)
}

struct CITrustList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ls", abstract: "List the trust rules.")
    @OptionGroup var output: OutputOptions
    @OptionGroup var admin: AdminOptions

    func run() async throws {
        try await reporting {
            let rules = try await admin.withClient { try await $0.trustRules() }
            if output.json { try Console.json(rules); return }
            var t = Table("ID", "ISSUER", "AUDIENCE", "CLAIMS", "SEGMENT", "MAX TTL", "ALLOWED IPS")
            for r in rules {
                t.add(r.id, r.issuer, r.audience, r.claims.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "),
                      r.segment, DurationText.format(seconds: Int64(r.maxTTLSeconds)), r.allowedIPs?.joined(separator: ","))
            }
            Console.out(t.render())
        }
    }
}

struct CITrustAdd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add", abstract: "Trust an issuer's ID tokens whose claims match, for ephemeral peers in a segment.")
    @Option(help: "The issuer (the tokens' iss), e.g. https://token.actions.githubusercontent.com.") var issuer: String
    @Option(help: "The audience the tokens must carry.") var audience = "ferry"
    @Option(name: .customLong("claim"), help: ArgumentHelp("A condition NAME=VALUE; VALUE may use * (repository=acme/*). Repeat for more.", valueName: "NAME=VALUE"))
    var claims: [String] = []
    @Option(help: "The segment of the jobs' peers.") var segment: String
    @Option(name: .customLong("max-ttl"), help: "The longest a job's peer may live (default 1h).") var maxTTL: String?
    @Option(name: .customLong("allowed-ip"), help: ArgumentHelp("Jobs reach only these prefixes (within policy).", valueName: "PREFIX"))
    var allowedIPs: [String] = []
    @Flag(help: "Print the rule as JSON.") var json = false
    @OptionGroup var admin: AdminOptions

    func parsedClaims() throws -> [String: String] {
        var out: [String: String] = [:]
        for c in claims {
            guard let eq = c.firstIndex(of: "="), eq != c.startIndex else { throw ValidationError("--claim '\(c)' is not NAME=VALUE") }
            out[String(c[..<eq])] = String(c[c.index(after: eq)...])
        }
        return out
    }

    func validate() throws {
        if claims.isEmpty { throw ValidationError("give at least one --claim (e.g. --claim repository=acme/api)") }
        _ = try parsedClaims()
        if let maxTTL, DurationText.milliseconds(maxTTL) == nil { throw ValidationError("--max-ttl must be like 1h") }
    }

    func run() async throws {
        try await reporting {
            let req = CreateTrustRuleRequest(issuer: issuer, audience: audience, claims: try parsedClaims(), segment: segment,
                                             maxTTLSeconds: maxTTL.flatMap(DurationText.milliseconds).map { Int($0 / 1000) },
                                             allowedIPs: allowedIPs.isEmpty ? nil : allowedIPs)
            let rule = try await admin.withClient { try await $0.createTrustRule(req) }
            if json { try Console.json(rule) } else { Console.out("trust rule \(rule.id): \(rule.issuer) -> segment \(rule.segment)") }
        }
    }
}

struct CITrustRemove: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove a trust rule (peers it made stay until their TTL).")
    @Argument(help: "The rule's id.") var id: String
    @OptionGroup var admin: AdminOptions

    func run() async throws {
        try await reporting {
            try await admin.withClient { try await $0.deleteTrustRule(id: id) }
            Console.out("trust rule \(id) removed")
        }
    }
}

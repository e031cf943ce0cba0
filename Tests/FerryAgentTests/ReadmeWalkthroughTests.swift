import Testing

@Suite("README walk-through (root, network namespaces)", .serialized)
struct ReadmeWalkthroughTests {
    /// scripts/e2e/readme.sh: the README's "A network in five minutes", extracted from
    /// README.md and run as written in namespaces with this build's ferryd, ferry and
    /// ferry-wg (gateway, developer, CI job, `ferry peers ls`, `ferry audit`). Fails when the
    /// README and the programs disagree. Prints a loud SKIPPED line without root or tun.
    @Test(.timeLimit(.minutes(5)))
    func theFiveMinuteNetworkRunsAsWritten() async throws {
        try await E2EScript.run("readme.sh", what: "README walk-through")
    }
}

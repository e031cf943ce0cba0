import Foundation
import Testing

@Suite("Kubernetes manifests")
struct ManifestsTests {
    /// dist/kubernetes/**/*.yaml pass `kubernetes-validate --strict` for one pinned Kubernetes
    /// version without a single warning (scripts/verify-manifests.sh; the tool lives next to
    /// FERRY_TEST_PYTHON, in the test virtual environment). Async: the tools run off the
    /// cooperative pool, which other suites need meanwhile.
    @Test func kubernetesManifestsValidate() async throws {
        let script = Binaries.packageRoot.appendingPathComponent("scripts/verify-manifests.sh").path
        let python = ProcessInfo.processInfo.environment["FERRY_TEST_PYTHON"] ?? "/var/tmp/ferry-test-venv/bin/python"
        let (status, output) = try await Binaries.run("/bin/bash", [script, URL(fileURLWithPath: python).deletingLastPathComponent().path])
        print(output)
        if status == 77 { print("SKIPPED (no kubernetes-validate in the test virtual environment): manifest validation"); return }
        #expect(status == 0, "\(output)")
        #expect(output.contains("PASS: "))
    }

    /// What the schemas cannot see (scripts/check-manifests.py): the ferryd/ferry command
    /// lines use only options this build's binaries have, every ConfigMap/Secret key a pod
    /// reads is defined in the folder, every Service and PodDisruptionBudget selects pods.
    @Test func manifestsAgreeWithTheBinariesAndEachOther() async throws {
        let script = Binaries.packageRoot.appendingPathComponent("scripts/check-manifests.py").path
        let python = ProcessInfo.processInfo.environment["FERRY_TEST_PYTHON"] ?? "/var/tmp/ferry-test-venv/bin/python"
        guard FileManager.default.isExecutableFile(atPath: python) else {
            print("SKIPPED (no test Python at \(python); scripts/install-test-deps.sh): manifest cross-checks")
            return
        }
        let (status, output) = try await Binaries.run(python, [script, Binaries.ferryd.deletingLastPathComponent().path])
        print(output)
        #expect(status == 0, "\(output)")
        #expect(output.contains("PASS: "))
    }
}

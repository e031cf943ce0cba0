import FerryTestSupport
import Testing

extension Trait where Self == ConditionTrait {
    /// Tests that run ferry-wg (and its peers) on real interfaces in namespaces: root,
    /// /dev/net/tun and the built binary, or a loud skip.
    static var needsRootAndFerryWG: Self {
        .enabled(if: RootEnvironment.available && FerryWGBinary.available,
                 "SKIPPED (needs root, /dev/net/tun, the built ferry-wg, and wireguard-go, wg, iperf3 from scripts/install-test-deps.sh)")
    }
}

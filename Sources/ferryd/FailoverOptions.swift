import ArgumentParser
import FerryCore
import FerryServer

/// `ferryd serve`'s gateway failover timing (docs/deploy.md, "Two gateways").
struct FailoverServeOptions: ParsableArguments {
    @Option(name: .customLong("gateway-down-after"), help: "A gateway with no heartbeat for this long is down and agents move its subnets to the next (e.g. 3s).")
    var downAfter: String = "3s"

    @Option(name: .customLong("gateway-hold-down"), help: "A gateway that returns takes its subnets back once alive for this long (e.g. 10s).")
    var holdDown: String = "10s"

    func validate() throws {
        guard let d = DurationText.milliseconds(downAfter), (1_500...600_000).contains(d) else {
            throw ValidationError("--gateway-down-after must be like 3s, between 1.5s and 10m (gateways send a heartbeat every second)")
        }
        guard let h = DurationText.milliseconds(holdDown), (0...3_600_000).contains(h) else {
            throw ValidationError("--gateway-hold-down must be like 10s, at most 1h")
        }
    }

    func apply(to config: inout FerryConfiguration) {
        config.gatewayLiveness.downAfterMs = DurationText.milliseconds(downAfter) ?? 3_000
        config.gatewayLiveness.holdDownMs = DurationText.milliseconds(holdDown) ?? 10_000
    }
}

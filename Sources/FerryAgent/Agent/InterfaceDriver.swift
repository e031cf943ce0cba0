import FerryCore
import FerrySystem
import Foundation
import WireGuard

/// One WireGuard interface as the agent drives it: created if missing, then made equal to
/// an `InterfacePlan` — peers through the UAPI socket (or wg(8) over the kernel module),
/// applying only the difference so live sessions survive; addresses, MTU and routes
/// through ip(8).
public struct InterfaceDriver: Sendable {
    public let local: LocalInterface
    public let wireguard: any InterfaceController

    public init(name: String, scratch: URL, runner: any CommandRunner = ProcessRunner()) {
        local = LocalInterface(name: name, runner: runner)
        wireguard = SystemInterface(name: name, scratch: scratch, runner: runner)
    }

    public var name: String { local.name }

    /// Creates the interface unless it exists: the kernel module, else `userspace` (or the
    /// one `LocalInterface.findUserspace` finds).
    /// True when this call created it (and so may remove it again on failure).
    @discardableResult
    public func ensureExists(userspace: String?, log: (String) -> Void) async throws(FerryError) -> Bool {
        guard !(await local.exists()) else { return false }
        guard let program = LocalInterface.findUserspace(explicit: userspace) else {
            throw .failure("no kernel WireGuard module and no ferry-wg or wireguard-go found; install one or give --userspace PATH")
        }
        log("creating interface \(name)")
        let backend = try await local.create(userspace: program)
        log("interface \(name) created (\(backend == .kernel ? "kernel module" : program))")
        return true
    }

    public func apply(_ plan: InterfacePlan) async throws(FerryError) {
        do { try await wireguard.apply(plan.config) } catch {
            throw .failure("cannot configure \(name): \(error)")
        }
        try await local.configure(addresses: plan.addresses, mtu: plan.mtu)
        try await local.syncRoutes(plan.routes)
        try await local.syncDefaultRoutes(plan.defaultRoutes, table: InterfacePlan.fullTunnelMark)
    }

    public func status() async throws(FerryError) -> [InterfacePeerStatus] {
        do { return try await wireguard.status() } catch { throw .failure("cannot read \(name): \(error)") }
    }
}

import FerryCore
import FerrySystem
import Foundation
import WireGuard

/// The agent's side of mesh paths (docs/mesh.md): each map and each tick go through
/// `MeshPaths`, which says per mesh peer whether its addresses are routed to it (direct)
/// or left to the gateway (relayed), and which candidate the next handshake goes to.
extension Agent {
    /// How often the mesh peers' handshakes are read: the two ends of a link switch to
    /// direct within one tick of each other.
    public static let meshTick: Duration = .milliseconds(500)

    /// Applies `plan` with the mesh peers' entries as their paths want them.
    func applyWithMesh(_ plan: InterfacePlan, map: NetworkMap) async throws(FerryError) {
        let (settings, probe) = await meshStep(map)
        var adjusted = plan
        if !probe.isEmpty {
            adjusted.config = MeshPaths.adjust(plan.config, settings, zeroKeepalive: probe)
            do { try await driver.wireguard.apply(adjusted.config) } catch {
                throw .failure("cannot configure \(driver.name): \(error)")
            }
        }
        adjusted.config = MeshPaths.adjust(plan.config, settings)
        try await driver.apply(adjusted)
        self.plan = plan
        meshSettings = settings
    }

    /// Reads the interface and steps the paths; logs and saves what changed.
    func meshStep(_ map: NetworkMap) async -> (settings: [String: MeshPaths.Setting], probe: Set<String>) {
        let entries = map.enabled ? map.peers.filter { $0.role == "mesh" } : []
        var live: [InterfacePeerStatus] = []
        if !entries.isEmpty {
            // An interface that cannot be read (going down) says nothing about the paths.
            do throws(FerryError) { live = try await driver.status() } catch { return (meshSettings, []) }
        }
        let byKey = Dictionary(live.map { ($0.publicKey.base64, $0) }, uniquingKeysWith: { a, _ in a })
        let before = Dictionary(mesh.paths.map { ($0.publicKey, $0.state) }, uniquingKeysWith: { a, _ in a })
        let result = mesh.step(entries, live: byKey, now: .now, wall: Date())
        let paths = mesh.paths
        var changed = paths.count != before.count
        for p in paths where before[p.publicKey] != p.state {
            changed = true
            switch p.state {
            case .direct: log("mesh \(p.name): direct via \(p.endpoint ?? "?")")
            case .relayed:
                log("mesh \(p.name): relayed through the gateway (no direct handshake in \(MeshPaths.relayAfter); probing \(p.candidates.joined(separator: ", ")) goes on)")
            case .probing: if before[p.publicKey] == .direct { log("mesh \(p.name): direct path lost; through the gateway while probing") }
            }
        }
        if changed { try? directory.saveMeshPaths(paths) }
        return result
    }

    /// Every tick: the mesh peers' handshakes decide their paths; a change or a new
    /// handshake round goes to the interface over the UAPI (peers only, no ip(8)).
    public func meshLoop() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: Self.meshTick)
            guard let map = current, let plan, map.enabled, map.peers.contains(where: { $0.role == "mesh" }) else { continue }
            let (settings, probe) = await meshStep(map)
            guard settings != meshSettings || !probe.isEmpty, await driver.local.exists() else { continue }
            do {
                if !probe.isEmpty { try await driver.wireguard.apply(MeshPaths.adjust(plan.config, settings, zeroKeepalive: probe)) }
                try await driver.wireguard.apply(MeshPaths.adjust(plan.config, settings))
                meshSettings = settings
            } catch {
                log("mesh paths not applied: \(error)")
            }
        }
    }

    /// The report's mesh part: candidates, and the links by path.
    func addMeshReport(_ r: inout ReportRequest) async {
        r.candidates = await LocalCandidates.gather(interface: state.interface, runner: runner)
        let paths = mesh.paths
        r.meshDirect = paths.filter { $0.state == .direct }.count
        r.meshRelayed = paths.filter(\.isRelayed).count
    }
}

extension StateDirectory {
    /// The agent's mesh paths, for `ferry status` and `ferry doctor`.
    public var meshFile: String { file("mesh.json") }

    public func saveMeshPaths(_ paths: [MeshPath]) throws(FerryError) {
        guard let data = try? FerryJSON.encoder().encode(paths) else { throw .failure("cannot encode the mesh paths") }
        try AtomicFile.write(String(decoding: data, as: UTF8.self), to: meshFile)
    }

    /// nil when there is no file or it does not parse (an older agent wrote none).
    public func loadMeshPaths() -> [MeshPath]? {
        guard let data = FileManager.default.contents(atPath: meshFile) else { return nil }
        return try? FerryJSON.decoder().decode([MeshPath].self, from: data)
    }
}

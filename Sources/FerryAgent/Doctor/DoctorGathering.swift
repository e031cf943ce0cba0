import FerryCore
import FerrySystem
import Foundation
import WireGuard

extension Doctor {
    /// What `ferry doctor` reads before any check runs: the interface (UAPI socket or wg,
    /// and ip), the coordinator's map and record of this peer with the device token, its
    /// clock, and this machine's addresses. An unreachable coordinator is a finding, not an
    /// error, when a map was saved before: the checks then run against that map.
    public static func gather(directory: StateDirectory, state: AgentState, client: CoordinatorClient, interface: String,
                              runner: any CommandRunner = ProcessRunner()) async throws(FerryError) -> (DoctorInputs, CoordinatorCheck) {
        guard await LocalInterface(name: interface, runner: runner).exists() else {
            throw .failure("there is no interface \(interface) here; bring it up with 'ferry up', or name the interface: ferry doctor IFNAME")
        }
        let system = SystemProbes(interface: interface, runner: runner)
        let local: InterfaceSnapshot
        do { local = try await system.snapshot() } catch {
            throw .failure("cannot read \(interface) (\(error)); run ferry doctor as root")
        }
        var problem: FerryError?
        var map: NetworkMap?
        do throws(FerryError) {
            map = try await client.netmap(peerID: state.peerID)
        } catch {
            problem = error
            map = directory.loadNetmap()
        }
        guard let map else { throw problem ?? .failure("the coordinator sent no network map") }
        let peer: PeerView? = problem == nil ? try? await client.peer(id: state.peerID) : nil
        let clock = problem == nil ? await client.clockSample() : nil
        let hosts = (try? await system.hostAddresses()) ?? []
        var inputs = DoctorInputs(local: local, coordinator: CoordinatorView(map: map, peer: peer), hostAddresses: hosts, clock: clock,
                                  privateKeyPath: directory.keyFile)
        inputs.enrolledPublicKey = try? directory.loadPrivateKey().publicKey
        inputs.meshPaths = directory.loadMeshPaths()
        return (inputs, CoordinatorCheck(url: client.baseURL, mapVersion: map.version, problem: problem))
    }
}

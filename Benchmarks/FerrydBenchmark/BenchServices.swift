import FerryCore
import FerryServer
import Foundation
import WireGuard

/// A benchmark's coordinator store: ferryd's services on SQLite in a fresh temporary folder
/// (`dir`, which the caller removes), a network of 10.0.0.0/8, logging off.
func benchServices() async throws -> (services: FerryServices, dir: URL) {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ferryd-bench-\(UUID().uuidString)")
    var config = FerryConfiguration(dataDirectory: dir)
    config.logLevel = .critical
    config.initialIPv4 = IPPrefix("10.0.0.0/8")
    return (try await buildServices(config), dir)
}

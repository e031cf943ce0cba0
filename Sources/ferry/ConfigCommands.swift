import ArgumentParser
import FerryAgent
import FerryCore
import Foundation
import QRCode

struct Config: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "A peer's wg-quick config, as text or a QR code.",
        subcommands: [ConfigRender.self, ConfigQRCode.self])
}

/// The config of `peer` (admin), or without one this machine's own with its private key.
struct ConfigSource: ParsableArguments {
    @Argument(help: "The peer's name or id (default: this machine, with its private key).") var peer: String?
    @OptionGroup var admin: AdminOptions

    func text() async throws -> String {
        if let peer {
            let data = try await admin.withClient { c in try await c.peerConfig(id: try await c.peer(peer).id) }
            return String(decoding: data, as: UTF8.self)
        }
        let dir = admin.state.directory
        let s = try dir.load()
        let key = try dir.loadPrivateKey()
        let client = try CoordinatorClient(url: s.coordinator, token: s.deviceToken, pinnedCertificatePEM: try dir.loadPinnedCertificate(for: s))
        let data = try await client.peerConfig(id: s.peerID)
        var config: WGQuickConfig
        do { config = try WGQuickConfig(parsing: String(decoding: data, as: UTF8.self)) } catch {
            throw FerryError(.failure, "the coordinator's config cannot be read: \(error)")
        }
        config.interface.privateKey = key
        return config.render()
    }
}

struct ConfigRender: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "render", abstract: "Print the wg-quick config.")
    @OptionGroup var source: ConfigSource
    @Option(name: .shortAndLong, help: ArgumentHelp("Write it here (mode 0600) instead.", valueName: "FILE")) var output: String?

    func run() async throws {
        try await reporting {
            let text = try await source.text()
            if let output { try AtomicFile.write(text, to: output) } else { Console.out(text, terminator: "") }
        }
    }
}

struct ConfigQRCode: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "qr", abstract: "Show the config as a QR code for a phone's WireGuard app.")
    @OptionGroup var source: ConfigSource
    @Option(help: ArgumentHelp("Write a PNG image here (mode 0600) instead.", valueName: "FILE")) var png: String?
    @Flag(help: "For terminals with a light background.") var light = false

    func run() async throws {
        try await reporting {
            let text = try await source.text()
            let code: QRCode
            do { code = try QRCode.encode(text, correction: .low) } catch { throw FerryError(.failure, "the config is too long for a QR code: \(error)") }
            if let png { try AtomicFile.write(code.png(), to: png) } else { Console.out(code.terminalString(background: light ? .light : .dark)) }
        }
    }
}

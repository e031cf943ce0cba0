import ArgumentParser
import FerryAgent
import FerryCore
import Foundation
import QRCode
import WireGuard

struct Config: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "A peer's wg-quick config, as text or a QR code.",
        subcommands: [ConfigRender.self, ConfigQRCode.self])
}

/// The config of `peer` (admin), or without one this machine's own with its private key.
struct ConfigSource: ParsableArguments {
    @Argument(help: "The peer's name or id (default: this machine, with its private key).") var peer: String?
    @Option(name: .customLong("private-key-file"), help: ArgumentHelp("Put this private key (the peer's, as wg genkey writes it) into the config.", valueName: "FILE"))
    var privateKeyFile: String?
    @Flag(name: .customLong("allow-hooks"), help: "Keep PreUp/PostUp/PreDown/PostDown from the coordinator (wg-quick runs them as root).")
    var allowHooks = false
    @OptionGroup var admin: AdminOptions

    /// The config, and whether it holds a private key; commands the coordinator sent are
    /// dropped (with a warning) unless --allow-hooks.
    func text() async throws -> (text: String, hasPrivateKey: Bool) {
        let (raw, hasKey) = try await fetch()
        let (text, dropped) = WGQuickHooks.strip(raw)
        if allowHooks {
            if !dropped.isEmpty { Console.progress("warning: keeping \(dropped.count) command(s) from the coordinator that wg-quick runs as root: \(dropped.joined(separator: "; "))") }
            return (raw, hasKey)
        }
        if !dropped.isEmpty {
            Console.progress("note: dropped \(dropped.count) PreUp/PostUp/PreDown/PostDown line(s) the coordinator sent (wg-quick would run them as root); --allow-hooks keeps them")
        }
        return (text, hasKey)
    }

    /// The config as the coordinator sends it, and whether it holds a private key (ferryd never keeps a peer's).
    func fetch() async throws -> (text: String, hasPrivateKey: Bool) {
        if let peer {
            let data = try await admin.withClient { c in try await c.peerConfig(id: try await c.peer(peer).id) }
            let text = String(decoding: data, as: UTF8.self)
            guard let privateKeyFile else { return (text, false) }
            let key = try KeyFiles.readPrivateKey(privateKeyFile)
            return (try Self.withKey(text, key), true)
        }
        let dir = admin.state.directory
        let s = try dir.load()
        let key = try dir.loadPrivateKey()
        let client = try CoordinatorClient(url: s.coordinator, token: s.deviceToken, pinnedCertificatePEM: try dir.loadPinnedCertificate(for: s))
        let data = try await client.peerConfig(id: s.peerID)
        return (try Self.withKey(String(decoding: data, as: UTF8.self), key), true)
    }

    static func withKey(_ text: String, _ key: PrivateKey) throws(FerryError) -> String {
        var config: WGQuickConfig
        do { config = try WGQuickConfig(parsing: text) } catch {
            throw FerryError(.failure, "the coordinator's config cannot be read: \(error)")
        }
        config.interface.privateKey = key
        return config.render()
    }

    /// What to do about a config without its private key.
    var missingKeyAdvice: String {
        "the coordinator never had the private key of '\(peer ?? "")': give it with --private-key-file FILE, or create the peer with a key made by the coordinator (ferry peers add NAME without --public-key prints a complete config once)"
    }
}

struct ConfigRender: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "render", abstract: "Print the wg-quick config.")
    @OptionGroup var source: ConfigSource
    @Option(name: .shortAndLong, help: ArgumentHelp("Write it here (mode 0600) instead.", valueName: "FILE")) var output: String?

    func run() async throws {
        try await reporting {
            let (text, hasKey) = try await source.text()
            if !hasKey { Console.progress("warning: no PrivateKey in this config; \(source.missingKeyAdvice)") }
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
            let (text, hasKey) = try await source.text()
            // A phone cannot use a config without its key, and cannot be told so by a QR code.
            guard hasKey else { throw FerryError(.failure, "no QR code: \(source.missingKeyAdvice)") }
            let code: QRCode
            do { code = try QRCode.encode(text, correction: .low) } catch { throw FerryError(.failure, "the config is too long for a QR code: \(error)") }
            if let png { try AtomicFile.write(code.png(), to: png) } else { Console.out(code.terminalString(background: light ? .light : .dark)) }
        }
    }
}

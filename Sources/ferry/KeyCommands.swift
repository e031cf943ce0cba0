import ArgumentParser
import FerryAgent
import Foundation

struct GenKey: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "genkey", abstract: "Print a new private key (as wg genkey).",
        discussion: "ferry genkey > KEYFILE makes KEYFILE mode 0600; -o writes it atomically with mode 0600.")
    @Option(name: .shortAndLong, help: ArgumentHelp("Write the key to this file (mode 0600) instead.", valueName: "FILE"))
    var output: String?

    func run() throws { try writeKey(KeyText.generatePrivate(), to: output) }
}

struct PubKey: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pubkey", abstract: "Read a private key on standard input, print its public key (as wg pubkey).")

    func run() throws {
        try reporting {
            let input = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
            FileHandle.standardOutput.write(Data(try KeyText.publicKey(of: input).utf8))
        }
    }
}

struct GenPSK: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "genpsk", abstract: "Print a new preshared key (as wg genpsk).")
    @Option(name: .shortAndLong, help: ArgumentHelp("Write the key to this file (mode 0600) instead.", valueName: "FILE"))
    var output: String?

    func run() throws { try writeKey(KeyText.generatePreshared(), to: output) }
}

/// A key to `output` (atomically, 0600) or to standard output (made 0600 if it is a file).
func writeKey(_ key: String, to output: String?) throws {
    try reporting {
        if let output { try AtomicFile.write(key, to: output) } else { KeyText.emit(key) }
    }
}

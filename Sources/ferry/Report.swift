import ArgumentParser
import FerryAgent
import Foundation

/// Runs a command's body; a `FerryError` becomes one line on standard error
/// (`ferry: ...`) and its exit code. Every command's `run` goes through here.
func reporting(_ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let e as FerryError {
        Console.error(e.message)
        throw ExitCode(e.exitCode)
    }
}

func reporting(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let e as FerryError {
        Console.error(e.message)
        throw ExitCode(e.exitCode)
    }
}

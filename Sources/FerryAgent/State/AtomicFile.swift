import FerryCore
import FerrySystem
import Foundation

/// `AtomicWrite` (FerryCore) with the agent's errors: files never seen half-written, keys
/// never readable by others, folders tightened to their mode.
public enum AtomicFile {
    public static func write(_ bytes: some Collection<UInt8>, to path: String, mode: mode_t = 0o600) throws(FerryError) {
        do { try AtomicWrite.write(bytes, to: path, mode: mode) } catch { throw .failure(error.description) }
    }

    public static func write(_ text: String, to path: String, mode: mode_t = 0o600) throws(FerryError) {
        try write(Array(text.utf8), to: path, mode: mode)
    }

    /// Creates the folder (and its parents) with `mode`, or tightens an existing one to it.
    public static func makeDirectory(_ path: String, mode: mode_t = 0o700) throws(FerryError) {
        do { try AtomicWrite.makeDirectory(path, mode: mode) } catch { throw .state(error.description) }
    }
}

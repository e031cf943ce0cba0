import Foundation
import WireGuard

/// `wg genkey`, `wg pubkey` and `wg genpsk`, byte for byte: one base64 key and a newline.
public enum KeyText {
    public static func generatePrivate() -> String { PrivateKey.generate().base64 + "\n" }
    public static func generatePreshared() -> String { PresharedKey.generate().base64 + "\n" }

    /// The public key of the private key in `input` (surrounding whitespace allowed, as wg).
    public static func publicKey(of input: String) throws(FerryError) -> String {
        let text = input.trimmingCharacters(in: .whitespacesAndNewlines)
        guard let key = try? PrivateKey(base64: text) else {
            throw .failure("Key is not the correct length or format: give a private key as 'ferry genkey' or 'wg genkey' prints it")
        }
        return key.publicKey.base64 + "\n"
    }

    /// Writes key text to standard output. When standard output is a regular file (a
    /// redirection), the file is made 0600 first: a key file is for its owner only.
    public static func emit(_ text: String) {
        var st = stat()
        if fstat(1, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, st.st_mode & 0o077 != 0 {
            fchmod(1, 0o600)
        }
        FileHandle.standardOutput.write(Data(text.utf8))
    }
}

public enum KeyFiles {
    /// A private key from a file as `wg genkey` writes it.
    public static func readPrivateKey(_ path: String) throws(FerryError) -> PrivateKey {
        guard let data = FileManager.default.contents(atPath: path) else { throw .failure("cannot read \(path)") }
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard let key = try? PrivateKey(base64: text) else {
            throw .failure("\(path) does not hold a WireGuard private key (one base64 key, as 'wg genkey' writes it)")
        }
        return key
    }
}

import Foundation

/// A coordinator reached over plain `http://` sees the bearer token and every network map
/// in clear text on the way. Allowed without asking only on loopback (the admin on the
/// coordinator's own host); anywhere else it takes `--insecure-http` (or
/// FERRY_INSECURE_HTTP=1), and then a warning is printed.
public enum PlainHTTP {
    /// Throws for plain HTTP beyond loopback unless `allowed`; returns the warning to print
    /// when it goes ahead anyway, nil when there is nothing to say.
    public static func check(_ url: String, allowed: Bool) throws(FerryError) -> String? {
        guard let parsed = URL(string: url), parsed.scheme?.lowercased() == "http", let host = parsed.host else { return nil }
        if isLoopback(host) { return nil }
        guard allowed || ProcessInfo.processInfo.environment["FERRY_INSECURE_HTTP"] == "1" else {
            throw FerryError(.failure, "\(url) is plain HTTP: the token and the network map would cross the network unencrypted; "
                             + "use https (ferryd --tls auto) with --fingerprint, or pass --insecure-http if you accept that")
        }
        return "warning: \(url) is plain HTTP: the token and the network map cross the network unencrypted"
    }

    static func isLoopback(_ host: String) -> Bool {
        let h = host.trimmingCharacters(in: CharacterSet(charactersIn: "[]")).lowercased()
        return h == "localhost" || h == "::1" || h.hasPrefix("127.")
    }
}

import Foundation

/// Where the admin commands (`ferry peers`, `segments`, `policy`, `audit`, `tokens`,
/// `config`) find the coordinator and an admin token. First match wins, for the URL and
/// the token separately:
///
/// 1. `--url` / `--token` (and `--fingerprint` to pin an https coordinator's certificate);
/// 2. `FERRY_URL` / `FERRY_TOKEN` (and `FERRY_FINGERPRINT`);
/// 3. the state folder: the enrolled coordinator (with its pinned certificate) and the
///    token in `admin.token` (mode 0600, written by the admin).
public struct AdminCredentials: Sendable {
    public var url: String
    public var token: String
    public var pinnedCertificatePEM: String?
    /// Where the URL came from, for messages.
    public var source: String

    public static func resolve(url: String?, token: String?, fingerprint: String?, state: StateDirectory,
                               environment: [String: String] = ProcessInfo.processInfo.environment) async throws(FerryError) -> AdminCredentials {
        func env(_ k: String) -> String? { environment[k].flatMap { $0.isEmpty ? nil : $0 } }
        let enrolled = state.isEnrolled ? try state.load() : nil
        var chosenURL: String
        var source: String
        if let url { chosenURL = url; source = "--url" }
        else if let u = env("FERRY_URL") { chosenURL = u; source = "FERRY_URL" }
        else if let s = enrolled { chosenURL = s.coordinator; source = state.stateFile }
        else {
            throw FerryError(.failure, "no coordinator given: use --url URL, set FERRY_URL, or run this on a machine enrolled with 'ferry join'")
        }
        while chosenURL.hasSuffix("/") { chosenURL.removeLast() }
        guard let secret = token ?? env("FERRY_TOKEN") ?? state.loadAdminToken() else {
            throw FerryError(.unauthorized, "no admin token: use --token TOKEN, set FERRY_TOKEN, or put one in \(state.adminTokenFile) (mode 0600)")
        }
        var pem: String?
        if let fp = fingerprint ?? env("FERRY_FINGERPRINT") {
            pem = try await CertificatePin.fetch(url: chosenURL, fingerprint: fp)
        } else if let s = enrolled, s.coordinator == chosenURL {
            pem = try state.loadPinnedCertificate(for: s)
        }
        return AdminCredentials(url: chosenURL, token: secret, pinnedCertificatePEM: pem, source: source)
    }

    public func client() throws(FerryError) -> CoordinatorClient {
        try CoordinatorClient(url: url, token: token, pinnedCertificatePEM: pinnedCertificatePEM)
    }
}

import FerryCore
import Foundation

/// The OAuth 2.0 device authorization grant (RFC 8628) against an OpenID Connect provider:
/// ask for a code, show it, poll the token endpoint at the provider's pace until the person
/// approves (or refuses, or the code expires); the result is the person's ID token.
public struct DeviceGrant: Sendable {
    public struct Prompt: Sendable {
        public var userCode: String
        public var verificationURI: String
        public var verificationURIComplete: String?
    }

    let deviceEndpoint: String
    let tokenEndpoint: String
    let clientID: String
    let scopes: String

    /// The provider's endpoints from its discovery document.
    public static func discover(issuer: String, clientID: String, scopes: String) async throws(FerryError) -> DeviceGrant {
        var base = issuer
        while base.hasSuffix("/") { base.removeLast() }
        let (status, body) = try await IdentityHTTP.request(.GET, base + "/.well-known/openid-configuration", what: "the identity provider")
        guard status == 200, let doc = IdentityHTTP.json(body), doc.string("issuer") == issuer else {
            throw FerryError(.failure, "\(issuer) serves no usable OpenID Connect discovery document (HTTP \(status))")
        }
        guard let device = doc.string("device_authorization_endpoint"), let token = doc.string("token_endpoint") else {
            throw FerryError(.failure, "the identity provider \(issuer) offers no device authorization grant; ask your admin")
        }
        return DeviceGrant(deviceEndpoint: device, tokenEndpoint: token, clientID: clientID, scopes: scopes)
    }

    /// Starts the grant, shows the prompt through `show`, waits for the person; the ID token.
    public func run(show: (Prompt) -> Void) async throws(FerryError) -> String {
        let form = [("Content-Type", "application/x-www-form-urlencoded")]
        let (status, body) = try await IdentityHTTP.request(.POST, deviceEndpoint, headers: form,
                                                            body: IdentityHTTP.form([("client_id", clientID), ("scope", scopes)]),
                                                            what: "the device authorization request")
        guard status == 200, let start = IdentityHTTP.json(body), let deviceCode = start.string("device_code"),
              let userCode = start.string("user_code"), let uri = start.string("verification_uri") ?? start.string("verification_url") else {
            let why = IdentityHTTP.json(body)?.string("error") ?? "HTTP \(status)"
            throw FerryError(.unauthorized, "the identity provider refused the device authorization request (\(why))")
        }
        show(Prompt(userCode: userCode, verificationURI: uri, verificationURIComplete: start.string("verification_uri_complete")))
        var interval = max(1, min(start.int("interval") ?? 5, 60))
        let deadline = Date().addingTimeInterval(Double(max(30, min(start.int("expires_in") ?? 600, 3600))))
        while Date() < deadline {
            try? await Task.sleep(for: .seconds(interval))
            let (s, b) = try await IdentityHTTP.request(.POST, tokenEndpoint, headers: form, body: IdentityHTTP.form([
                ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"), ("device_code", deviceCode), ("client_id", clientID),
            ]), what: "the token request")
            let answer = IdentityHTTP.json(b) ?? [:]
            if s == 200 {
                guard let idToken = answer.string("id_token") else {
                    throw FerryError(.failure, "the identity provider answered without an ID token; is 'openid' among the client's scopes?")
                }
                return idToken
            }
            switch answer.string("error") {
            case "authorization_pending": continue
            case "slow_down": interval += 5
            case "access_denied": throw FerryError(.unauthorized, "the login was refused at the identity provider")
            case "expired_token": throw FerryError(.unauthorized, "the code expired before it was approved; run 'ferry login' again")
            default: throw FerryError(.unauthorized, "the identity provider refused the token request (\(answer.string("error") ?? "HTTP \(s)"))")
            }
        }
        throw FerryError(.unauthorized, "the code expired before it was approved; run 'ferry login' again")
    }
}

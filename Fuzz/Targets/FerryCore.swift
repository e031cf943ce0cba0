import FerryCore
import Foundation
import WireGuard

/// wg-quick configurations: whatever parses renders to text that parses to the same.
func fuzzWGQuick(_ data: UnsafeRawBufferPointer) {
    let text = String(decoding: data, as: UTF8.self)
    guard let config = try? WGQuickConfig(parsing: text) else { return }
    let rendered = config.render()
    let again = try? WGQuickConfig(parsing: rendered)
    require(again == config, "wg-quick config does not survive render and parse:\n\(rendered)")
    _ = config.renderForWG()
}

/// The coordinator's API request bodies, strictly decoded as the server does.
func fuzzAPIRequests(_ data: UnsafeRawBufferPointer) {
    guard let first = data.first else { return }
    let body = Data(data.dropFirst())
    switch first % 10 {
    case 0: _ = try? FerryJSON.decodeStrict(UpdateNetworkRequest.self, from: body)
    case 1: _ = try? FerryJSON.decodeStrict(CreateSegmentRequest.self, from: body)
    case 2: _ = try? FerryJSON.decodeStrict(CreatePolicyRuleRequest.self, from: body)
    case 3: _ = try? FerryJSON.decodeStrict(CreatePeerRequest.self, from: body)
    case 4: _ = try? FerryJSON.decodeStrict(UpdatePeerRequest.self, from: body)
    case 5: _ = try? FerryJSON.decodeStrict(RotateKeyRequest.self, from: body)
    case 6: _ = try? FerryJSON.decodeStrict(CreateGatewayRequest.self, from: body)
    case 7: _ = try? FerryJSON.decodeStrict(UpdateGatewayRequest.self, from: body)
    case 8: _ = try? FerryJSON.decodeStrict(CreateTokenRequest.self, from: body)
    default:
        _ = try? FerryJSON.decodeStrict(EnrollRequest.self, from: body)
        _ = try? FerryJSON.decodeStrict(ReportRequest.self, from: body)
    }
}

/// The network map as the agent decodes it from the coordinator (and saves it again).
func fuzzNetworkMap(_ data: UnsafeRawBufferPointer) {
    guard let map = try? FerryJSON.decoder().decode(NetworkMap.self, from: Data(data)) else { return }
    _ = NetworkMap.digest(of: map)
    guard let encoded = try? FerryJSON.encoder().encode(map) else { return }
    let again = try? FerryJSON.decoder().decode(NetworkMap.self, from: encoded)
    require(again == map, "network map does not survive encode and decode")
}

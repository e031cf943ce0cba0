import FerryCore
import Foundation
import Hummingbird

/// Gateway failover: a gateway host's token and its heartbeats (docs/deploy.md, "Two gateways").
extension RouteTable {
    func registerFailover() {
        let store = self.store
        add(.post, "/v1/gateways/{id}/token", scopes: Scopes.admin) { _, ctx, caller in
            try HTTP.json(try await store.createGatewayToken(id: try HTTP.id(ctx), caller: caller), status: .created)
        }
        add(.post, "/v1/gateways/{id}/heartbeat", scopes: Scopes.heartbeats) { req, ctx, caller in
            let body = try await HTTP.body(GatewayHeartbeatRequest.self, req, ctx)
            return try HTTP.json(try await store.gatewayHeartbeat(id: try HTTP.id(ctx), body, caller: caller))
        }
    }
}

import FerryCore
@testable import FerryServer
import FerryTestSupport
import Foundation
import Testing

/// docs/deploy.md promises that replicas upgrade one at a time: migrations only add, and a
/// replica that meets a migration it does not know keeps serving. Here a newer ferryd's
/// migration (a new column with data in it, a new table, its name in `ferry_migrations`) is
/// applied under a running replica of this version, which must go on reading and writing,
/// and a replica of this version started after it must start and serve too.
@Suite("Rolling upgrade of PostgreSQL replicas")
struct RollingUpgradeTests {
    @Test(.timeLimit(.minutes(3)))
    func anOlderReplicaKeepsServingANewerSchema() async throws {
        let old = try await Harness.make(engine: .postgres)
        let database = try #require(old.config.database)
        let before = try await old.withClient { client in
            try await old.seed(client)
            return try await old.peer(client, name: "before")
        }

        // What a newer ferryd's migration could do: only additions, and rows written by it.
        _ = try PostgresServer.start().psql("""
            ALTER TABLE peers ADD COLUMN future_note TEXT NOT NULL DEFAULT '';
            UPDATE peers SET future_note = 'written by a newer replica';
            CREATE TABLE future_things (id TEXT PRIMARY KEY);
            INSERT INTO ferry_migrations (name) VALUES ('v999-from-a-newer-ferryd');
            """, database: database.database)
        let noted = try Self.count("future_note = 'written by a newer replica'", database)
        #expect(noted >= 2)

        // The replica that was running when the newer one migrated.
        try await old.withClient { client in
            let during = try await old.peer(client, name: "during")
            let list = try await client.call(.get, "/v1/peers", token: old.admin)
            #expect(list.status == 200, "\(list.body)")
            let names = Set(try list.decode(ListResponse<PeerView>.self).items.map(\.name))
            #expect(names.isSuperset(of: ["before", "during"]), "\(names)")
            for id in [before.id, during.id] {
                let map = try await client.call(.get, "/v1/peers/\(id)/netmap", token: old.admin)
                #expect(map.status == 200, "\(map.body)")
            }
            let renamed = try await client.call(.patch, "/v1/peers/\(before.id)", token: old.admin, json: #"{"name":"renamed"}"#)
            #expect(renamed.status == 200, "\(renamed.body)")
        }

        // A replica of this version (re)started during the roll: it finds the unknown
        // migration, applies nothing, and serves the same data.
        let restarted = try await Harness.make(engine: .postgres, database: database)
        try await restarted.withClient { client in
            let list = try await client.call(.get, "/v1/peers", token: restarted.admin)
            #expect(list.status == 200, "\(list.body)")
            let names = Set(try list.decode(ListResponse<PeerView>.self).items.map(\.name))
            #expect(names.isSuperset(of: ["renamed", "during"]), "\(names)")
            _ = try await restarted.peer(client, name: "after")
        }
        // The newer replica's data is untouched by this version's writes.
        #expect(try Self.count("future_note = 'written by a newer replica'", database) == noted)
        #expect(try Self.count("future_note = ''", database) == 2) // during, after
    }

    static func count(_ condition: String, _ database: DatabaseURL) throws -> Int {
        let out = try PostgresServer.start().psql("SELECT count(*) FROM peers WHERE \(condition)", database: database.database)
        return Int(out.trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
    }
}

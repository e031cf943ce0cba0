import FerryCore
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// A long poll that shows it is alive (`Prefer: heartbeat`, docs/ferryd.md "Long polls with
/// heartbeats"). A plain long poll is silent until it answers, so a client cannot tell a
/// coordinator that waits for a change from one that hangs (a stopped process, a wedged
/// host: the kernel still accepts and acknowledges). With the preference, the answer's head
/// (200, `Preference-Applied: heartbeat`) goes out at once, a newline follows every second
/// while it waits, and the body ends with the map, or with nothing but newlines when none
/// came (what a 304 says otherwise). Leading whitespace is valid JSON, so the body still
/// decodes as the map. An agent with several coordinators asks for it and leaves one that
/// sends nothing for 3 s.
///
/// What can fail is decided before the head (authorization, the peer, the long-poll caps);
/// a failure during the wait (the peer removed meanwhile) ends the body with no map, and the
/// client's next poll gets the error with its proper status.
enum HeartbeatPoll {
    static let preferHeader = HTTPField.Name("Prefer")
    static let appliedHeader = HTTPField.Name("Preference-Applied")
    static let interval: Duration = .seconds(1)

    /// Whether the request asks for heartbeats (`Prefer: heartbeat`, among other preferences).
    static func requested(_ request: Request) -> Bool {
        guard let name = preferHeader else { return false }
        return request.headers[values: name].contains { value in
            value.split(separator: ",").contains { $0.split(separator: ";").first?.trimmingCharacters(in: .whitespaces).lowercased() == "heartbeat" }
        }
    }

    /// The streaming answer: newlines every `interval` while `wait` runs, then its map (if any).
    static func response(_ wait: @escaping @Sendable () async throws -> NetworkMap?) -> Response {
        var headers: HTTPFields = [.contentType: "application/json", .cacheControl: "no-store"]
        if let appliedHeader { headers[appliedHeader] = "heartbeat" }
        return Response(status: .ok, headers: headers, body: ResponseBody { writer in
            let (chunks, out) = AsyncStream<ByteBuffer>.makeStream()
            let producer = Task {
                let beats = Task {
                    while !Task.isCancelled {
                        out.yield(ByteBuffer(string: "\n"))
                        try? await Task.sleep(for: interval)
                    }
                }
                let map = try? await wait()
                beats.cancel()
                await beats.value
                if let map, let data = try? FerryJSON.encoder().encode(map) { out.yield(ByteBuffer(bytes: data)) }
                out.finish()
            }
            // The client gone (a write fails) or the server stopping: the wait ends too.
            defer { producer.cancel() }
            try await withTaskCancellationHandler {
                for await chunk in chunks { try await writer.write(chunk) }
            } onCancel: { producer.cancel() }
            try await writer.finish(nil)
        })
    }
}

import FerryTestSupport
import Foundation

/// iperf3 runs through a tunnel, for correctness (data arrives, the run completes), not speed.
enum Iperf {
    struct Result: CustomStringConvertible {
        var sentBytes: Int
        var receivedBytes: Int
        /// UDP only: the share of datagrams the receiver missed.
        var lostPercent: Double
        var description: String { "sent \(sentBytes) B, received \(receivedBytes) B, lost \(lostPercent)%" }
    }

    /// Starts a one-off iperf3 server on `address` in `server`, runs a client in `client`
    /// for `seconds` (UDP at `udpRate` when given; `reverse`: the server sends) and returns
    /// what the client's JSON report says.
    static func run(server: NetworkNamespace, address: String, client: NetworkNamespace, seconds: Int = 2,
                    udpRate: String? = nil, reverse: Bool = false, port: Int = 5201) throws -> Result {
        let daemon = try server.spawn(["iperf3", "-s", "-1", "-B", address, "-p", "\(port)"])
        defer { daemon.stop() }
        let listening = waitUntil(timeout: 5) {
            ((try? server.exec(["ss", "-Hln", "sport", "=", ":\(port)"])) ?? "").contains(":\(port)")
        }
        guard listening else { throw CommandFailure(command: ["iperf3", "-s"], status: -1, output: daemon.output) }
        var args = ["iperf3", "-c", address, "-p", "\(port)", "-t", "\(seconds)", "-J", "--connect-timeout", "5000"]
        if let udpRate { args += ["-u", "-b", udpRate] }
        if reverse { args.append("-R") }
        let json = try client.exec(args)
        return try parse(json, udp: udpRate != nil)
    }

    static func parse(_ json: String, udp: Bool) throws -> Result {
        guard let top = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any],
              let end = top["end"] as? [String: Any] else {
            throw CommandFailure(command: ["iperf3 report"], status: -1, output: json)
        }
        if udp {
            let sum = end["sum"] as? [String: Any] ?? [:]
            let sent = (end["sum_sent"] as? [String: Any])?["bytes"] as? Int ?? sum["bytes"] as? Int ?? 0
            let received = (end["sum_received"] as? [String: Any])?["bytes"] as? Int ?? 0
            return Result(sentBytes: sent, receivedBytes: received, lostPercent: sum["lost_percent"] as? Double ?? 100)
        }
        let sent = (end["sum_sent"] as? [String: Any])?["bytes"] as? Int ?? 0
        let received = (end["sum_received"] as? [String: Any])?["bytes"] as? Int ?? 0
        return Result(sentBytes: sent, receivedBytes: received, lostPercent: 0)
    }
}

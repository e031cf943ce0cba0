import FerryTestSupport
import Foundation

/// iperf3 runs through a tunnel, for correctness (data arrives, the run completes), not speed.
final class Iperf {
    struct Result: CustomStringConvertible {
        var sentBytes: Int
        var receivedBytes: Int
        /// UDP only: the share of datagrams the receiver missed.
        var lostPercent: Double
        /// Bytes the client counted per one-second interval.
        var intervalBytes: [Int]
        var description: String { "sent \(sentBytes) B, received \(receivedBytes) B, lost \(lostPercent)%, per second \(intervalBytes)" }
    }

    private let server: BackgroundProcess
    private let client: BackgroundProcess
    private let udp: Bool

    /// Starts a one-off iperf3 server on `address` in `server`, then a client in `client`
    /// for `seconds` (`udp` or TCP, at most at `rate` when given; `reverse`: the server sends).
    init(server serverNamespace: NetworkNamespace, address: String, client clientNamespace: NetworkNamespace, seconds: Int = 2,
         udp: Bool = false, rate: String? = nil, reverse: Bool = false, port: Int = 5201) throws {
        self.udp = udp
        server = try serverNamespace.spawn(["iperf3", "-s", "-1", "-B", address, "-p", "\(port)"])
        let listening = waitUntil(timeout: 5) {
            ((try? serverNamespace.exec(["ss", "-Hln", "sport", "=", ":\(port)"])) ?? "").contains(":\(port)")
        }
        guard listening else { throw CommandFailure(command: ["iperf3", "-s"], status: -1, output: server.output) }
        var args = ["iperf3", "-c", address, "-p", "\(port)", "-t", "\(seconds)", "-i", "1", "-J", "--connect-timeout", "5000"]
        // UDP: large socket buffers, so a reader the busy machine delays does not count as loss.
        if udp { args += ["-u", "-w", "4M"] }
        if let rate { args += ["-b", rate] }
        if reverse { args.append("-R") }
        client = try clientNamespace.spawn(args)
    }

    /// Waits for the client to finish and reads its report.
    func finish(timeout: TimeInterval = 30) throws -> Result {
        defer { server.stop() }
        guard waitUntil(timeout: timeout, { !client.isRunning }) else {
            client.stop()
            throw CommandFailure(command: ["iperf3", "-c"], status: -1, output: "still running after \(timeout) s: \(client.output)")
        }
        guard client.process.terminationStatus == 0 else {
            throw CommandFailure(command: ["iperf3", "-c"], status: client.process.terminationStatus, output: client.output)
        }
        return try Iperf.parse(client.output, udp: udp)
    }

    /// Runs a client to its end (see `init`).
    static func run(server: NetworkNamespace, address: String, client: NetworkNamespace, seconds: Int = 2,
                    udp: Bool = false, rate: String? = nil, reverse: Bool = false) throws -> Result {
        try Iperf(server: server, address: address, client: client, seconds: seconds, udp: udp, rate: rate, reverse: reverse).finish()
    }

    static func parse(_ json: String, udp: Bool) throws -> Result {
        guard let top = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any],
              let end = top["end"] as? [String: Any] else {
            throw CommandFailure(command: ["iperf3 report"], status: -1, output: json)
        }
        func bytes(_ object: Any?) -> Int { (object as? [String: Any])?["bytes"] as? Int ?? 0 }
        let intervals = (top["intervals"] as? [[String: Any]] ?? []).map { bytes($0["sum"]) }
        if udp {
            let sum = end["sum"] as? [String: Any] ?? [:]
            let sent = end["sum_sent"] != nil ? bytes(end["sum_sent"]) : bytes(sum)
            return Result(sentBytes: sent, receivedBytes: bytes(end["sum_received"]),
                          lostPercent: sum["lost_percent"] as? Double ?? 100, intervalBytes: intervals)
        }
        return Result(sentBytes: bytes(end["sum_sent"]), receivedBytes: bytes(end["sum_received"]), lostPercent: 0,
                      intervalBytes: intervals)
    }
}

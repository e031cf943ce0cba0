import CFerryLinux
import FerryTestSupport
import Foundation

/// A flood at the highest rate one thread of this machine can send: a UDP socket in the
/// attacker's namespace and `sendmmsg` (CFerryLinux's, without GSO) of 64 prepared datagrams
/// a call, no pacing.
/// What it costs the sender (the kernel delivers each datagram on the sending CPU) is what
/// limits it, not the receiver.
final class FullRateFlood: @unchecked Sendable {
    struct Result: CustomStringConvertible {
        var sent: Int
        var refused: Int
        var seconds: Double
        var rate: Int { seconds > 0 ? Int(Double(sent) / seconds) : 0 }
        var description: String { "\(sent) datagrams in \(Int(seconds * 1000)) ms (\(rate)/s; \(refused) refused by the sender's kernel)" }
    }

    private let fd: Int32
    private let target: ferry_address

    /// A socket in `ns` aimed at `host` (IPv4 literal) and `port`.
    init(in ns: NetworkNamespace, to host: String, port: UInt16) throws {
        var address = in_addr()
        guard inet_pton(AF_INET, host, &address) == 1 else {
            throw CommandFailure(command: ["inet_pton", host], status: -1, output: "not an IPv4 address")
        }
        var target = ferry_address()
        target.family = 4
        target.port = port
        withUnsafeBytes(of: address.s_addr) { a in
            withUnsafeMutableBytes(of: &target.bytes) { b in for i in 0..<4 { b[i] = a[i] } }
        }
        self.target = target
        let fd = try ns.withEntered { socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0) }
        guard fd >= 0 else { throw CommandFailure(command: ["socket"], status: errno, output: String(cString: strerror(errno))) }
        self.fd = fd
    }

    deinit { close(fd) }

    /// `run` on a thread of its own; the function returned waits for its result.
    func start(_ messages: [[UInt8]], seconds: Double) -> () -> Result {
        nonisolated(unsafe) var result: Result?
        let done = DispatchSemaphore(value: 0)
        Thread {
            result = self.run(messages, seconds: seconds)
            done.signal()
        }.start()
        return {
            done.wait()
            done.signal()
            return result ?? Result(sent: 0, refused: 0, seconds: 0)
        }
    }

    /// Sends `messages` over and over for `seconds` (or until `stop` returns true), 64 a call.
    func run(_ messages: [[UInt8]], seconds: Double, stop: () -> Bool = { false }) -> Result {
        let perCall = 64
        let storage = messages.map { bytes -> UnsafeMutableRawBufferPointer in
            let b = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes.count, alignment: 8)
            b.copyBytes(from: bytes)
            return b
        }
        let packets = UnsafeMutablePointer<ferry_packet>.allocate(capacity: perCall)
        let slots = UnsafeMutablePointer<UInt32>.allocate(capacity: perCall)
        defer {
            storage.forEach { $0.deallocate() }
            packets.deallocate()
            slots.deallocate()
        }
        for k in 0..<perCall {
            let b = storage[k % storage.count]
            packets[k] = ferry_packet()
            packets[k].data = b.baseAddress?.assumingMemoryBound(to: UInt8.self)
            packets[k].capacity = UInt32(b.count)
            packets[k].length = UInt32(b.count)
            packets[k].remote = target
            slots[k] = UInt32(k)
        }
        var sent = 0, refused = 0, calls = 0
        var gso: Int32 = 0, error: Int32 = 0
        let start = Date()
        let end = start.addingTimeInterval(seconds)
        while true {
            if calls % 16 == 0, Date() >= end || stop() { break }
            calls += 1
            // The same 64 datagrams each call (64 distinct messages at most: the senders'
            // keys are what the receiver cannot tell apart cheaply, not the count).
            let n = Int(max(ferry_udp_send(fd, 4, packets, slots, UInt32(perCall), &gso, &error), 0))
            sent += n
            refused += perCall - n
        }
        return Result(sent: sent, refused: refused, seconds: Date().timeIntervalSince(start))
    }
}

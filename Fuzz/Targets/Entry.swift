// libFuzzer's entry points for every Ferry fuzz target, in one binary built by
// scripts/fuzz.sh. The target is picked by the executable's name (`fuzz-uapi` is a link
// to this binary) or FERRY_FUZZ_TARGET.
import Glibc

/// A fuzz target: gets arbitrary bytes; traps (an assertion, a bounds or overflow check,
/// an address-sanitizer report) are the findings.
typealias FuzzTarget = (UnsafeRawBufferPointer) -> Void

let targets: [String: FuzzTarget] = [
    "messages": fuzzMessages,
    "device": fuzzDevice,
    "uapi": fuzzUAPI,
    "wgquick": fuzzWGQuick,
    "api": fuzzAPIRequests,
    "netmap": fuzzNetworkMap,
    "tun": fuzzTUNPackets,
    "dns": fuzzDNS,
]

nonisolated(unsafe) var selected: FuzzTarget?

@_cdecl("LLVMFuzzerInitialize")
public func fuzzerInitialize(_ argc: UnsafeMutablePointer<Int32>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>) -> Int32 {
    var name = getenv("FERRY_FUZZ_TARGET").map { String(cString: $0) } ?? ""
    if name.isEmpty, let first = argv.pointee[0] {
        let program = String(cString: first).split(separator: "/").last.map(String.init) ?? ""
        if program.hasPrefix("fuzz-") { name = String(program.dropFirst(5)) }
    }
    guard let target = targets[name] else {
        let known = targets.keys.sorted().joined(separator: ", ")
        fputs("ferry-fuzz: no target \"\(name)\": run as fuzz-TARGET or set FERRY_FUZZ_TARGET (\(known))\n", stderr)
        exit(2)
    }
    selected = target
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    selected?(UnsafeRawBufferPointer(start: data, count: data == nil ? 0 : size))
    return 0
}

/// Reads the fuzzer's bytes as a sequence of small decisions.
struct FuzzInput {
    private let bytes: UnsafeRawBufferPointer
    private(set) var position = 0

    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    var isAtEnd: Bool { position >= bytes.count }
    var remaining: Int { bytes.count - position }

    mutating func byte() -> UInt8 {
        guard position < bytes.count else { return 0 }
        defer { position += 1 }
        return bytes[position]
    }

    mutating func uint16() -> Int { Int(byte()) << 8 | Int(byte()) }

    /// Up to `count` bytes (fewer at the end).
    mutating func take(_ count: Int) -> [UInt8] {
        let n = min(max(0, count), remaining)
        defer { position += n }
        return Array(bytes[position..<position + n])
    }

    /// Everything left.
    mutating func rest() -> [UInt8] { take(remaining) }
}

/// Fails the run (libFuzzer records the input) when an invariant does not hold.
func require(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition {
        fputs("ferry-fuzz: invariant failed: \(message())\n", stderr)
        abort()
    }
}

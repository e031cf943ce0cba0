import Dispatch

/// Spreads the sealing or opening of one batch over the machine's cores and returns when all
/// of it is done, so the batch leaves in order (the per-peer ordering the kernel and
/// wireguard-go keep with a queue in front of their crypto workers). Small batches stay on
/// the calling thread, where a hand-off would cost more than it saves.
struct CryptoFanOut: Sendable {
    let workers: Int
    /// Batches smaller than this are processed inline.
    let threshold: Int

    init(workers: Int = CryptoFanOut.defaultWorkers, threshold: Int = 32) {
        self.workers = max(1, workers)
        self.threshold = threshold
    }

    static var defaultWorkers: Int {
        if let text = getenv("FERRY_WG_CRYPTO_WORKERS"), let n = Int(String(cString: text)), n > 0 { return n }
        return max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    }

    /// Runs `body(i)` for every `i` in `0..<count`, possibly on several threads at once.
    func run(_ count: Int, _ body: (Int) -> Void) {
        guard workers > 1, count >= threshold else {
            for i in 0..<count { body(i) }
            return
        }
        let chunks = min(workers, count / (threshold / 2))
        withoutActuallyEscaping(body) { body in
            nonisolated(unsafe) let body = body
            DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
                let start = count * chunk / chunks, end = count * (chunk + 1) / chunks
                for i in start..<end { body(i) }
            }
        }
    }
}

import Glibc

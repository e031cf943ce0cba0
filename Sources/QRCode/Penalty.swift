/// The penalty rules of §7.8.3 (Table 11) that choose among the eight masks: the lowest total
/// wins. Modules outside the symbol count as light, since the quiet zone surrounds it.
struct Penalty: Hashable, Sendable {
    /// Runs of five or more same-colour modules in a row or column: 3, plus 1 per module past 5.
    var runs = 0
    /// Each 2×2 block of one colour: 3 (overlapping blocks each count).
    var blocks = 0
    /// Each dark-light-dark-dark-dark-light-dark (1:1:3:1:1) sequence in a row or column with
    /// four light modules before or after it: 40.
    var finderLike = 0
    /// 10 for each full 5 % step by which the dark share departs from 50 %.
    var balance = 0

    var total: Int { runs + blocks + finderLike + balance }

    init(_ grid: ModuleGrid) {
        let n = grid.size
        let dark = grid.dark
        var line = [Bool](repeating: false, count: n)
        for i in 0..<n {
            for j in 0..<n { line[j] = dark[i * n + j] } // row i
            runs += Self.runPoints(line)
            finderLike += Self.finderLikePoints(line)
            for j in 0..<n { line[j] = dark[j * n + i] } // column i
            runs += Self.runPoints(line)
            finderLike += Self.finderLikePoints(line)
        }
        for y in 0..<(n - 1) {
            for x in 0..<(n - 1) {
                let colour = dark[y * n + x]
                if dark[y * n + x + 1] == colour && dark[(y + 1) * n + x] == colour && dark[(y + 1) * n + x + 1] == colour {
                    blocks += 3
                }
            }
        }
        let darkCount = dark.count { $0 }
        let total = n * n
        // |dark/total - 1/2| in 5 % steps = |20·dark - 10·total| / total, rounded down.
        balance = 10 * (abs(20 * darkCount - 10 * total) / total)
    }

    static func runPoints(_ line: [Bool]) -> Int {
        var points = 0
        var runLength = 0
        for (index, module) in line.enumerated() {
            runLength = index > 0 && line[index - 1] == module ? runLength + 1 : 1
            let runEnds = index == line.count - 1 || line[index + 1] != module
            if runEnds && runLength >= 5 { points += runLength - 2 }
        }
        return points
    }

    static func finderLikePoints(_ line: [Bool]) -> Int {
        let n = line.count
        func fourLight(from start: Int) -> Bool {
            (start..<(start + 4)).allSatisfy { $0 < 0 || $0 >= n || !line[$0] }
        }
        var points = 0
        var start = 0
        while start + 7 <= n {
            // dark, light, dark, dark, dark, light, dark
            if line[start] && !line[start + 1] && line[start + 2] && line[start + 3] && line[start + 4]
                && !line[start + 5] && line[start + 6] && (fourLight(from: start - 4) || fourLight(from: start + 7)) {
                points += 40
            }
            start += 1
        }
        return points
    }
}

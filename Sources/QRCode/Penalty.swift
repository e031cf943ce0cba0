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
        var darkCount = 0
        for i in 0..<n {
            let row = (0..<n).map { grid[$0, i] }
            let column = (0..<n).map { grid[i, $0] }
            runs += Self.runPoints(row) + Self.runPoints(column)
            finderLike += Self.finderLikePoints(row) + Self.finderLikePoints(column)
            darkCount += row.lazy.filter { $0 }.count
        }
        for y in 0..<(n - 1) {
            for x in 0..<(n - 1) {
                let colour = grid[x, y]
                if grid[x + 1, y] == colour && grid[x, y + 1] == colour
                    && grid[x + 1, y + 1] == colour {
                    blocks += 3
                }
            }
        }
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

    static let finderLikeSequence = [true, false, true, true, true, false, true]

    static func finderLikePoints(_ line: [Bool]) -> Int {
        let pattern = finderLikeSequence
        let isLight = { (index: Int) in index < 0 || index >= line.count || !line[index] }
        var points = 0
        var start = 0
        while start + pattern.count <= line.count {
            if line[start..<(start + pattern.count)].elementsEqual(pattern) {
                let lightBefore = (start - 4..<start).allSatisfy(isLight)
                let after = start + pattern.count
                let lightAfter = (after..<(after + 4)).allSatisfy(isLight)
                if lightBefore || lightAfter { points += 40 }
            }
            start += 1
        }
        return points
    }
}

/// A plain text table: a header row and left-aligned columns two spaces apart, `-` for
/// empty cells.
public struct Table: Sendable {
    public var header: [String]
    public var rows: [[String]] = []

    public init(_ header: String...) { self.header = header }

    public mutating func add(_ cells: String?...) { rows.append(cells.map { ($0?.isEmpty ?? true) ? "-" : $0! }) }

    public func render() -> String {
        let all = [header] + rows
        var widths = [Int](repeating: 0, count: header.count)
        for row in all { for (i, c) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], c.count) } }
        return all.map { row in
            row.enumerated().map { i, c in i == row.count - 1 ? c : c.padding(toLength: widths[i], withPad: " ", startingAt: 0) }
                .joined(separator: "  ")
        }.joined(separator: "\n")
    }
}

extension QRCode {
    /// A standalone SVG document: a white square with the dark modules as one black path,
    /// each horizontal run of dark modules one rectangle. The view box is in modules;
    /// `moduleSize` (1…32) sets the pixel size, `quietZone` (0…16 modules) the margin.
    public func svg(moduleSize: Int = 8, quietZone: Int = 4) -> String {
        let margin = quietZone.clamped(to: Self.quietZoneRange)
        let side = size + 2 * margin
        let pixels = side * moduleSize.clamped(to: Self.scaleRange)
        var path = ""
        for y in 0..<size {
            var x = 0
            while x < size {
                guard self[x, y] else { x += 1; continue }
                var run = 1
                while self[x + run, y] { run += 1 }
                path += "M\(x + margin),\(y + margin)h\(run)v1h-\(run)z"
                x += run
            }
        }
        return """
            <?xml version="1.0" encoding="UTF-8"?>
            <svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="\(pixels)" height="\(pixels)" \
            viewBox="0 0 \(side) \(side)" shape-rendering="crispEdges">
            <rect width="\(side)" height="\(side)" fill="#ffffff"/>
            <path fill="#000000" d="\(path)"/>
            </svg>

            """
    }
}

/// A square of modules, row-major, each dark or light and each marked as belonging to a
/// function pattern (finder, separator, timing, alignment, format or version information)
/// or to the encoding region.
struct ModuleGrid: Sendable, Hashable {
    let size: Int
    private(set) var dark: [Bool]
    private(set) var isFunction: [Bool]

    init(size: Int) {
        self.size = size
        dark = Array(repeating: false, count: size * size)
        isFunction = dark
    }

    func contains(x: Int, y: Int) -> Bool { x >= 0 && x < size && y >= 0 && y < size }

    subscript(x: Int, y: Int) -> Bool { dark[y * size + x] }

    func isFunction(x: Int, y: Int) -> Bool { isFunction[y * size + x] }

    mutating func setFunction(x: Int, y: Int, dark isDark: Bool) {
        dark[y * size + x] = isDark
        isFunction[y * size + x] = true
    }

    mutating func setData(x: Int, y: Int, dark isDark: Bool) {
        dark[y * size + x] = isDark
    }

    mutating func invert(x: Int, y: Int) {
        dark[y * size + x].toggle()
    }
}

/// Which colour the terminal paints where no character is drawn.
public enum TerminalBackground: Sendable, Hashable {
    /// Light text on a dark background, the usual terminal: light modules are drawn as
    /// blocks and dark modules left as background, so the symbol still reads dark-on-light.
    case dark
    /// Dark text on a light background: dark modules are drawn.
    case light
}

extension QRCode {
    /// The symbol as Unicode half blocks, two module rows per line of text, lines separated by
    /// "\n" (no trailing newline).
    ///
    /// Scanners want dark modules on a light field. On the default `.dark` background the
    /// glyphs ("█", "▀", "▄") paint the light modules and the quiet zone in the foreground
    /// colour and the dark modules are spaces, so the terminal's own dark background shows
    /// through them; pass `.light` for a light-background terminal. A quiet zone of 2 modules
    /// (the default here; the standard asks for 4) is enough for phone scanners in practice
    /// and keeps the block small.
    public func terminalString(quietZone: Int = 2, background: TerminalBackground = .dark) -> String {
        let margin = quietZone.clamped(to: Self.quietZoneRange)
        let side = size + 2 * margin
        // Which modules get ink (a drawn glyph); rows past the bottom edge get none.
        func inked(_ x: Int, _ y: Int) -> Bool {
            guard y < side else { return false }
            return isDark(x: x, y: y, quietZone: margin) == (background == .light)
        }
        var lines: [String] = []
        for top in stride(from: 0, to: side, by: 2) {
            var line = ""
            line.unicodeScalars.reserveCapacity(side)
            for x in 0..<side {
                switch (inked(x, top), inked(x, top + 1)) {
                case (true, true): line.unicodeScalars.append("\u{2588}") // █ full block
                case (true, false): line.unicodeScalars.append("\u{2580}") // ▀ upper half
                case (false, true): line.unicodeScalars.append("\u{2584}") // ▄ lower half
                case (false, false): line.unicodeScalars.append(" ")
                }
            }
            lines.append(line)
        }
        return lines.joined(separator: "\n")
    }
}

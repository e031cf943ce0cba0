import FerryTestSupport
import Foundation
import Testing

/// The browser harness itself (scripts/browser/browser.py through BrowserSession): the
/// system's Chromium starts headless as root, loads a page from the loopback server, runs
/// its module script under the portal's strict CSP (and refuses an inline one), lists the
/// requests it made and saves a screenshot.
@Suite("Browser harness")
struct BrowserHarnessBehaviourTests {
    @Test(.timeLimit(.minutes(6)))
    func loadsAPageUnderTheStrictCSP() throws {
        guard let browser = BrowserSession.start("browser harness") else { return }
        defer { browser.close() }
        let site = FileManager.default.temporaryDirectory.appendingPathComponent("ferry-harness-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: site, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: site) }
        // The module sets the title: that it ran shows 'self' scripts run; the inline
        // script would overwrite the title if the CSP let it run.
        try """
        <!doctype html><html><head><meta charset="utf-8"><title>loading</title>
        <script type="module" src="main.js"></script>
        <script>document.title = "inline ran";</script></head>
        <body><p>waiting</p></body></html>
        """.write(to: site.appendingPathComponent("index.html"), atomically: true, encoding: .utf8)
        try """
        document.title = "harness ok " + (1 + 1);
        const done = document.createElement("p");
        done.id = "done";
        done.textContent = "module ran";
        document.body.append(done);
        """.write(to: site.appendingPathComponent("main.js"), atomically: true, encoding: .utf8)

        let base = try browser.serve(site.path)
        #expect(base.hasPrefix("http://127.0.0.1:"))
        try browser.get(base + "index.html")
        #expect(try browser.wait("#done") == "module ran")
        #expect(try browser.title() == "harness ok 2")
        #expect(try browser.script("return window.isSecureContext && !!crypto.subtle") as? Bool == true)

        let urls = try browser.requests().compactMap { $0["url"] as? String }
        #expect(urls.contains(base + "index.html"))
        #expect(urls.contains(base + "main.js"))
        #expect(!urls.contains { $0.hasPrefix("chrome:") })
        let page = try browser.responses().first { $0["url"] as? String == base + "index.html" }
        #expect(page?["status"] as? Int == 200)
        let headers = (page?["headers"] as? [String: Any]) ?? [:]
        let csp = headers.first { $0.key.lowercased() == "content-security-policy" }?.value as? String
        #expect(csp?.contains("script-src 'self'") == true, "\(headers)")
        let console = try browser.console().compactMap { $0["message"] as? String }
        #expect(console.contains { $0.contains("Content Security Policy") }, "the inline script was not reported as blocked: \(console)")

        let shot = try browser.screenshot("harness-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(atPath: shot) }
        let png = try Data(contentsOf: URL(fileURLWithPath: shot))
        #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]))
    }
}

